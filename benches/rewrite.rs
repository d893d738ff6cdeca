//! Rewrite figures (printed, not asserted): one recipient's tracked copy of a newsletter-like HTML
//! mail — about 90 KB of nested tables, inline styles, Outlook conditional comments, a `<style>`
//! block and 80 links (some repeated, one unsubscribe, one mailto) — the way the outbox makes one
//! per recipient. Run: `cargo bench --bench rewrite`.

use std::time::{Duration, Instant};
use tidings::tracking::client::rewrite::{rewrite_for_recipient, RewriteOptions, TrackedCopy};

const RUNS: usize = 5;
const MAILS_PER_RUN: usize = 200;

fn newsletter() -> String {
    let mut html = String::from(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\"><head>\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\
         <title>Globex Weekly</title><style type=\"text/css\">\
         body{margin:0;padding:0} table,td{border-collapse:collapse} \
         a[href^=\"https://\"]{color:#1a73e8} @media (max-width:600px){.col{width:100%!important}}\
         </style><!--[if mso]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch>\
         </o:OfficeDocumentSettings></xml><![endif]--></head>\n\
         <body style=\"margin:0;padding:0;background-color:#f4f4f4\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n",
    );
    for i in 0..76 {
        let url = format!(
            "https://www.globex.example/news/{}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=weekly-{}",
            i % 60,
            i % 3
        );
        html.push_str(&format!(
            "<tr><td class=\"col\" style=\"padding:16px 24px;font-family:Helvetica,Arial,sans-serif;\
             font-size:15px;line-height:22px;color:#333333\" valign=\"top\">\
             <!--[if mso]><table><tr><td width=\"560\"><![endif]-->\
             <h2 style=\"margin:0 0 8px 0;font-size:19px\">Story {i}: quarterly numbers &amp; what they mean</h2>\
             <img src=\"https://img.globex.example/{i}.png\" width=\"560\" height=\"180\" alt=\"Story {i}\" \
             style=\"display:block;border:0;max-width:100%\">\
             <p style=\"margin:8px 0\">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
             tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
             exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor \
             in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.</p>\
             <p style=\"margin:8px 0\"><a href=\"{url}\" target=\"_blank\" style=\"color:#1a73e8;\
             text-decoration:underline\">Read the full story&nbsp;&rarr;</a></p>\
             <!--[if mso]></td></tr></table><![endif]--></td></tr>\n"
        ));
    }
    html.push_str(
        "<tr><td style=\"padding:24px;font-size:12px;color:#888888\">\
         <a href=\"https://www.globex.example/\">Globex</a> · \
         <a href=\"https://twitter.example/globex\">Twitter</a> · \
         <a href=\"mailto:news@globex.example\">Write to us</a> · \
         <a href=\"https://www.globex.example/u?id=abc&amp;list=weekly\">Unsubscribe</a>\
         </td></tr>\n</table>\n</body></html>\n",
    );
    html
}

fn measure(html: &str, rewrite: impl Fn(&str) -> TrackedCopy) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        for _ in 0..MAILS_PER_RUN {
            std::hint::black_box(rewrite(std::hint::black_box(html)));
        }
        best = best.min(start.elapsed() / MAILS_PER_RUN as u32);
    }
    best
}

fn main() {
    let html = newsletter();
    let opts = RewriteOptions {
        base_url: "https://t.example.com",
        track_opens: true,
        track_links: true,
        opt_out_link: true,
        unsubscribe_urls: &[],
        excluded_urls: &[],
    };
    let copy = rewrite_for_recipient(Some(&html), None, &opts);
    let links = html.matches("<a ").count();
    println!(
        "newsletter: {} KB, {links} links, {} tracked URLs; best of {RUNS} runs of {MAILS_PER_RUN} mails",
        html.len() / 1000,
        copy.links.len()
    );
    let per_mail = measure(&html, |h| rewrite_for_recipient(Some(h), None, &opts));
    println!(
        "rewrite_for_recipient: {:.1} µs/mail, {:.1} MB/s",
        per_mail.as_secs_f64() * 1e6,
        html.len() as f64 / per_mail.as_secs_f64() / 1e6
    );
}
