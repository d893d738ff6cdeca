//! Orders rows flat (newest first) or as conversations: each thread (by the References /
//! In-Reply-To root the store keeps) placed by its newest message, its messages oldest first.

use super::state::Row;
use std::collections::HashMap;

fn thread_key(r: &Row) -> String {
    r.msg
        .thread_root
        .clone()
        .or_else(|| r.msg.message_id.clone())
        .unwrap_or_else(|| format!("#{}", r.msg.id))
}

pub fn arrange(rows: &mut [Row], threads: bool) {
    if !threads {
        rows.sort_by(|a, b| b.msg.date.cmp(&a.msg.date).then(b.msg.id.cmp(&a.msg.id)));
        for r in rows.iter_mut() {
            r.depth = 0;
        }
        return;
    }
    let mut newest: HashMap<String, (i64, i64)> = HashMap::new();
    for r in rows.iter() {
        let e = newest.entry(thread_key(r)).or_insert((i64::MIN, 0));
        *e = (*e).max((r.msg.date, r.msg.id));
    }
    let mut keyed: Vec<((i64, i64), String, i64, i64)> = rows
        .iter()
        .map(|r| {
            let k = thread_key(r);
            (newest[&k], k, r.msg.date, r.msg.id)
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (na, ka, da, ia) = &keyed[a];
        let (nb, kb, db, ib) = &keyed[b];
        nb.cmp(na)
            .then_with(|| ka.cmp(kb))
            .then(da.cmp(db))
            .then(ia.cmp(ib))
    });
    let mut sorted: Vec<Row> = order.iter().map(|&i| rows[i].clone()).collect();
    let mut prev: Option<&String> = None;
    for (slot, &i) in sorted.iter_mut().zip(order.iter()) {
        let k = &keyed[i].1;
        slot.depth = if prev == Some(k) { 1 } else { 0 };
        prev = Some(k);
    }
    keyed.clear();
    rows.clone_from_slice(&sorted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageSummary;

    fn row(id: i64, date: i64, root: &str) -> Row {
        Row::new(MessageSummary {
            id,
            account: "a".into(),
            folder: "INBOX".into(),
            uid: id as u32,
            message_id: Some(format!("<{id}>")),
            in_reply_to: None,
            thread_root: Some(root.into()),
            from_name: String::new(),
            from_addr: String::new(),
            to: String::new(),
            cc: String::new(),
            subject: String::new(),
            date,
            seen: false,
            flagged: false,
            answered: false,
            draft: false,
            has_attachments: false,
            preview: String::new(),
        })
    }

    #[test]
    fn threads_group_by_root_ordered_by_newest_activity() {
        let mut rows = vec![row(1, 10, "x"), row(2, 20, "y"), row(3, 30, "x")];
        arrange(&mut rows, true);
        let ids: Vec<_> = rows.iter().map(|r| (r.msg.id, r.depth)).collect();
        assert_eq!(ids, vec![(1, 0), (3, 1), (2, 0)]);
        arrange(&mut rows, false);
        let ids: Vec<_> = rows.iter().map(|r| r.msg.id).collect();
        assert_eq!(ids, vec![3, 2, 1]);
    }
}
