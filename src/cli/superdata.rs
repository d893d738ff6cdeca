//! `superdata`, `contacts` and `forget`: Superdata lookups on request, the contact list, and
//! deleting what is stored about a contact.

use super::Context;
use crate::store::Contact;
use crate::superdata::{rfc3339, Outcome, Report, Source, Superdata, Target};
use anyhow::Context as _;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SuperdataArgs {
    /// An email address (person + organization) or a domain (organization)
    #[arg(value_name = "EMAIL|DOMAIN")]
    pub target: String,
    /// Fetch every source again instead of answering from the cache
    #[arg(long)]
    pub refresh: bool,
    /// One JSON object on stdout (documented in docs/superdata.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ContactsArgs {
    /// One JSON array on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// The contact's address
    pub email: String,
}

pub fn superdata(ctx: &Context, args: &SuperdataArgs) -> anyhow::Result<ExitCode> {
    let config = &ctx.config.superdata;
    if !config.enabled {
        anyhow::bail!(
            "{} ({})",
            crate::superdata::HOW_TO_ENABLE,
            ctx.paths.config_file.display()
        );
    }
    let target = match Target::parse(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tidings: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let db = ctx.paths.db_path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = rt.block_on(async {
        let sd = Superdata::new(config)?;
        sd.lookup(&db, &target, args.refresh).await
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report.to_json())?;
        writeln!(out)?;
    } else {
        print_report(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    let who = match report.target.email() {
        Some(e) => format!("{e} (domain {})", report.target.domain()),
        None => report.target.domain().to_string(),
    };
    writeln!(
        out,
        "{who}{}",
        if report.demo() { "  [DEMO DATA]" } else { "" }
    )?;
    if report.free_mail {
        writeln!(
            out,
            "  {} is a free-mail domain: no organization data",
            report.target.domain()
        )?;
    }
    for s in Source::ALL {
        let Some((_, result)) = report.sources.iter().find(|(x, _)| *x == s) else {
            continue;
        };
        let Some(r) = result else { continue };
        writeln!(
            out,
            "\n{}  fetched {}{}{}  <{}>",
            s.label(),
            rfc3339(r.fetched_at),
            if r.cached { " (cached)" } else { "" },
            if r.demo { " [demo]" } else { "" },
            r.url
        )?;
        match &r.outcome {
            Outcome::Failed(e) => writeln!(out, "  error: {e}")?,
            Outcome::NotFound => writeln!(out, "  nothing found")?,
            Outcome::Found(_) => {
                for (label, value) in r.fields() {
                    writeln!(out, "  {label:<15} {value}")?;
                }
            }
        }
    }
    Ok(())
}

fn contact_json(c: &Contact) -> serde_json::Value {
    json!({
        "email": c.email,
        "name": c.display_name,
        "domain": c.domain,
        "organization": c.organization_domain,
        "non_human": c.non_human,
        "free_mail": c.free_mail,
        "first_contact": c.first_contact.map(rfc3339),
        "last_contact": c.last_contact.map(rfc3339),
        "sent": c.sent_count,
        "received": c.received_count,
        "messages": c.message_count,
        "tracking": c.tracking.map(|t| t.as_str()),
    })
}

pub fn contacts(ctx: &Context, args: &ContactsArgs) -> anyhow::Result<ExitCode> {
    let mut store = ctx.open_store()?;
    store.refresh_contacts()?;
    let contacts = store.contacts()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let arr: Vec<_> = contacts.iter().map(contact_json).collect();
        serde_json::to_writer(&mut out, &arr)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for c in &contacts {
        let last = c
            .last_contact
            .map(|t| rfc3339(t)[..10].to_string())
            .unwrap_or_else(|| "-".into());
        let mark = if c.non_human {
            " [non-human]"
        } else if c.free_mail {
            " [free-mail]"
        } else {
            ""
        };
        writeln!(
            out,
            "{last}  sent {:>4}  recv {:>4}  {:<40} {}{}",
            c.sent_count, c.received_count, c.email, c.display_name, mark
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn forget(ctx: &Context, args: &ForgetArgs) -> anyhow::Result<ExitCode> {
    let mut store = ctx.open_store()?;
    let f = store.forget_contact(&args.email)?;
    let mut out = std::io::stdout().lock();
    if !f.contact && f.superdata_rows == 0 && f.message_links == 0 {
        writeln!(out, "nothing was stored about {}", args.email.trim())?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "forgot {}: contact {}, {} Superdata entr{}{}; the mail itself is kept",
        args.email.trim(),
        if f.contact { "deleted" } else { "not found" },
        f.superdata_rows,
        if f.superdata_rows == 1 { "y" } else { "ies" },
        f.organization
            .map(|d| format!(", organization {d} (its last contact)"))
            .unwrap_or_default()
    )?;
    Ok(ExitCode::SUCCESS)
}
