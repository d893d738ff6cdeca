//! Orders rows flat (newest first) or as conversations: each thread (by the References /
//! In-Reply-To root the store keeps) placed by its newest message, its messages oldest first.

use super::view::Row;
use std::borrow::Cow;
use std::collections::HashMap;

/// The conversation a row belongs to: its References root, else its own Message-ID or row id.
pub fn thread_key(r: &Row) -> Cow<'_, str> {
    match r.msg.thread_root.as_deref().or(r.msg.message_id.as_deref()) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(format!("#{}", r.msg.id)),
    }
}

pub fn arrange(rows: &mut Vec<Row>, threads: bool) {
    if !threads {
        rows.sort_by(|a, b| b.msg.date.cmp(&a.msg.date).then(b.msg.id.cmp(&a.msg.id)));
        for r in rows.iter_mut() {
            r.depth = 0;
        }
        return;
    }
    let order = {
        let keys: Vec<Cow<str>> = rows.iter().map(thread_key).collect();
        let mut newest: HashMap<&str, (i64, i64)> = HashMap::with_capacity(rows.len());
        for (r, k) in rows.iter().zip(&keys) {
            let e = newest.entry(k.as_ref()).or_insert((i64::MIN, 0));
            *e = (*e).max((r.msg.date, r.msg.id));
        }
        let sort_keys: Vec<((i64, i64), &str, i64, i64)> = rows
            .iter()
            .zip(&keys)
            .map(|(r, k)| (newest[k.as_ref()], k.as_ref(), r.msg.date, r.msg.id))
            .collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            let (na, ka, da, ia) = sort_keys[a];
            let (nb, kb, db, ib) = sort_keys[b];
            nb.cmp(&na)
                .then_with(|| ka.cmp(kb))
                .then(da.cmp(&db))
                .then(ia.cmp(&ib))
        });
        let depths: Vec<u8> = order
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                let same = pos > 0 && sort_keys[order[pos - 1]].1 == sort_keys[i].1;
                u8::from(same)
            })
            .collect();
        order.into_iter().zip(depths).collect::<Vec<_>>()
    };
    reorder(rows, order);
}

/// Moves the rows into `order` ((index, depth) in display order); no summary is copied.
pub(crate) fn reorder(rows: &mut Vec<Row>, order: Vec<(usize, u8)>) {
    let mut slots: Vec<Option<Row>> = std::mem::take(rows).into_iter().map(Some).collect();
    *rows = order
        .into_iter()
        .filter_map(|(i, depth)| {
            slots[i].take().map(|mut r| {
                r.depth = depth;
                r
            })
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, date: i64, root: &str) -> Row {
        let mut m = crate::app::view::test_summary(id, date, "");
        m.thread_root = Some(root.into());
        Row::new(m)
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
