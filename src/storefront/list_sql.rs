//! `list_creatives` as SQL: the filters become a WHERE clause, the sort an ORDER BY over
//! (sort key, creative_id), and the cursor a keyset condition, so a page reads `size + 1` rows
//! off an index and the summaries come from one grouped COUNT instead of every row of the account.
//! Pure: this builds text and binds; `library_store::list` runs them.
//!
//! Every bind is text and every comparison is on text columns, which order as the Rust side did
//! (SQLite's BINARY collation and PostgreSQL's C collation both compare code points).

use std::collections::BTreeMap;

use super::library::{
    filters_applied, instant, CursorKey, Direction, ListQuery, Position, SortField,
};
use super::mcp::error::AdcpError;
use super::sync::format_key;
use crate::store::db::Backend;
use crate::store::search::like_contains;

/// A compiled `list_creatives` query.
#[derive(Debug)]
pub struct ListSql {
    /// The filter (no cursor), with `$n` marks numbered in order of appearance from `$1`
    /// (the account); SQLite reads `$n` as named parameters, so the order of first appearance
    /// must match the bind order.
    pub filter: String,
    pub binds: Vec<String>,
    /// The keyset condition after the cursor's position, with its binds (numbered after `binds`).
    pub after: Option<(String, Vec<String>)>,
    pub order_by: String,
    /// Rows per page; the page query reads one more to learn `has_more`.
    pub size: usize,
    pub field: SortField,
    pub direction: Direction,
    pub filters_applied: Vec<&'static str>,
}

fn column(field: SortField) -> &'static str {
    match field {
        SortField::CreatedDate => "created_at",
        SortField::UpdatedDate => "updated_at",
        SortField::Name => "name",
        SortField::Status => "status",
    }
}

struct Builder {
    sql: Vec<String>,
    binds: Vec<String>,
    backend: Backend,
}

impl Builder {
    fn mark(&mut self, v: String) -> String {
        self.binds.push(v);
        format!("${}", self.binds.len())
    }

    fn marks(&mut self, vs: &[String]) -> String {
        vs.iter()
            .map(|v| self.mark(v.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `col IN (...)`; an empty list matches nothing, as it did in Rust.
    fn any_of(&mut self, col: &str, vs: &[String]) {
        let clause = if vs.is_empty() {
            "1 = 0".to_owned()
        } else {
            format!("{col} IN ({})", self.marks(vs))
        };
        self.sql.push(clause);
    }

    /// True when the creative carries one of the tags bound at `marks`: read off the tag table's
    /// (account_id, tag, creative_id) key, not by parsing each row's JSON (migration 0019).
    fn tagged(marks: &str) -> String {
        format!(
            "creative_id IN (SELECT t.creative_id FROM storefront_creative_tags t \
             WHERE t.account_id = $1 AND t.tag IN ({marks}))"
        )
    }

    /// True when an assignment in `col` (a JSON array of objects) names one of the packages.
    fn json_package_in(&self, col: &str, marks: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each({col}) AS j WHERE json_extract(j.value, '$.package_id') IN ({marks}))"
            ),
            Backend::Postgres => format!(
                "EXISTS (SELECT 1 FROM json_array_elements({col}::json) AS j(v) WHERE j.v->>'package_id' IN ({marks}))"
            ),
        }
    }
}

/// Compiles `q` for `account`; a cursor must be one this service signed for the same account and
/// sort, or the query is refused.
pub fn compile(
    q: &ListQuery,
    account: &str,
    key: &CursorKey,
    backend: Backend,
) -> Result<ListSql, AdcpError> {
    let f = &q.filters;
    let created_after = instant(&f.created_after, "created_after")?;
    let created_before = instant(&f.created_before, "created_before")?;
    let updated_after = instant(&f.updated_after, "updated_after")?;
    let updated_before = instant(&f.updated_before, "updated_before")?;
    let (size, _) = super::formats::page_bounds(
        q.pagination
            .as_ref()
            .map(|p| super::formats::Pagination {
                max_results: p.max_results,
                cursor: None,
            })
            .as_ref(),
    )?;
    let (field, direction) = (q.sort.field, q.sort.direction);
    let position = match q.pagination.as_ref().and_then(|p| p.cursor.as_deref()) {
        None => None,
        Some(c) => Some(
            key.open(c)
                .filter(|p| p.a == account && p.f == field && p.d == direction)
                .ok_or_else(|| AdcpError::validation("pagination.cursor", "unknown cursor"))?,
        ),
    };

    let mut b = Builder {
        sql: vec!["account_id = $1".to_owned()],
        binds: vec![account.to_owned()],
        backend,
    };
    match &f.statuses {
        Some(s) => b.any_of("status", s),
        // Archived creatives only when asked for.
        None => b.sql.push("status <> 'archived'".to_owned()),
    }
    // Every one of `tags`: one membership test per tag.
    if let Some(tags) = &f.tags {
        for t in tags {
            let m = b.mark(t.clone());
            b.sql.push(Builder::tagged(&m));
        }
    }
    // Any of `tags_any`: one membership test over them all.
    if let Some(tags) = &f.tags_any {
        if tags.is_empty() {
            b.sql.push("1 = 0".to_owned());
        } else {
            let marks = b.marks(tags);
            b.sql.push(Builder::tagged(&marks));
        }
    }
    if let Some(n) = &f.name_contains {
        // `name_folded` is the name folded in Rust as the search is (`store::search`): one Unicode
        // fold on every backend (SQL `lower` folds only ASCII on SQLite), migration 0020.
        let m = b.mark(like_contains(n));
        b.sql.push(format!("name_folded LIKE {m} ESCAPE '\\'"));
    }
    if let Some(ids) = &f.creative_ids {
        b.any_of("creative_id", ids);
    }
    for (col, op, v) in [
        ("created_at", ">", created_after),
        ("created_at", "<", created_before),
        ("updated_at", ">", updated_after),
        ("updated_at", "<", updated_before),
    ] {
        if let Some(v) = v {
            let m = b.mark(v);
            b.sql.push(format!("{col} {op} {m}"));
        }
    }
    if let Some(ids) = &f.format_ids {
        let keys: Vec<String> = ids.iter().filter_map(format_key).collect();
        b.any_of("format_key", &keys);
    }
    match f.unassigned {
        // Assignments only ever grow from the empty array the insert writes.
        Some(true) => b.sql.push("assignments = '[]'".to_owned()),
        Some(false) => b.sql.push("assignments <> '[]'".to_owned()),
        None => {}
    }
    if let Some(packages) = &f.assigned_to_packages {
        if packages.is_empty() {
            b.sql.push("1 = 0".to_owned());
        } else {
            let marks = b.marks(packages);
            let c = b.json_package_in("assignments", &marks);
            b.sql.push(c);
        }
    }

    let col = column(field);
    let (cmp, dir) = match direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    let after = position.map(|p| {
        let (k, i) = (b.binds.len() + 1, b.binds.len() + 2);
        (
            format!("({col} {cmp} ${k} OR ({col} = ${k} AND creative_id {cmp} ${i}))"),
            vec![p.k, p.i],
        )
    });
    Ok(ListSql {
        filter: b.sql.join(" AND "),
        binds: b.binds,
        after,
        order_by: format!("{col} {dir}, creative_id {dir}"),
        size,
        field,
        direction,
        filters_applied: filters_applied(f),
    })
}

impl ListSql {
    /// The cursor after the last row of a page that has more.
    pub fn next_cursor(
        &self,
        key: &CursorKey,
        account: &str,
        last: &super::library::Listed,
    ) -> String {
        let k = match self.field {
            SortField::CreatedDate => &last.created_at,
            SortField::UpdatedDate => &last.updated_at,
            SortField::Name => &last.name,
            SortField::Status => &last.status,
        };
        key.seal(&Position {
            a: account.to_owned(),
            f: self.field,
            d: self.direction,
            k: k.clone(),
            i: last.creative_id.clone(),
        })
    }
}

/// `format_summary`'s key for a stored format key: the format id (`box` of `agent#box`), or the
/// kind of a `kind:<kind>` key.
fn summary_format(format_key: &str) -> &str {
    format_key.rsplit(['#', ':']).next().unwrap_or_default()
}

/// Folds grouped (status, format_key, count) rows into the total and the two summaries.
pub fn summaries(
    groups: &[(String, String, i64)],
) -> (usize, BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut status = BTreeMap::new();
    let mut format = BTreeMap::new();
    let mut total = 0;
    for (s, f, n) in groups {
        let n = usize::try_from(*n).unwrap_or(0);
        total += n;
        *status.entry(s.clone()).or_insert(0) += n;
        *format.entry(summary_format(f).to_owned()).or_insert(0) += n;
    }
    (total, status, format)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const KEY: CursorKey = CursorKey([7; 32]);

    fn q(v: Value) -> ListQuery {
        serde_json::from_value(v).unwrap()
    }

    fn compiled(v: Value) -> ListSql {
        compile(&q(v), "acct", &KEY, Backend::Sqlite).unwrap()
    }

    /// SQLite binds `$n` by first appearance, so marks must appear as $1, $2, ... in order.
    fn marks_in_order(sql: &str) -> bool {
        let nums: Vec<usize> = sql
            .split('$')
            .skip(1)
            .filter_map(|s| {
                let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
                d.parse().ok()
            })
            .collect();
        let mut next = 1;
        nums.iter().all(|&n| {
            if n == next {
                next += 1;
                true
            } else {
                n < next
            }
        })
    }

    #[test]
    fn every_filter_binds_its_values_in_order() {
        let all = json!({"filters": {
            "statuses": ["approved"], "tags": ["a", "b"], "tags_any": ["c"], "name_contains": "50%_x",
            "creative_ids": ["c1"], "created_after": "2026-01-01T00:00:00Z",
            "updated_before": "2026-02-01T00:00:00+01:00",
            "format_ids": [{"agent_url": "https://s.example", "id": "box"}],
            "unassigned": false, "assigned_to_packages": ["p1", "p2"]}});
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let s = compile(&q(all.clone()), "acct", &KEY, backend).unwrap();
            assert!(marks_in_order(&s.filter), "{}", s.filter);
            assert_eq!(s.binds.len(), 12, "{:?}", s.binds);
            assert_eq!(s.binds[5], "%50\\%\\_x%");
            assert_eq!(s.binds[8], "2026-01-31T23:00:00.000Z");
        }
    }

    #[test]
    fn archived_only_on_request_and_empty_lists_match_nothing() {
        assert!(compiled(json!({})).filter.contains("status <> 'archived'"));
        let s = compiled(json!({"filters": {"statuses": ["archived"]}}));
        assert!(!s.filter.contains("<> 'archived'"));
        for empty in [
            "statuses",
            "tags_any",
            "creative_ids",
            "format_ids",
            "assigned_to_packages",
        ] {
            let s = compiled(json!({"filters": {empty: []}}));
            assert!(s.filter.contains("1 = 0"), "{empty}: {}", s.filter);
        }
        assert!(!compiled(json!({"filters": {"tags": []}}))
            .filter
            .contains("1 = 0"));
    }

    #[test]
    fn cursors_are_bound_to_account_and_sort_and_cannot_be_forged() {
        let s = compiled(json!({}));
        let last = super::super::library::Listed {
            creative_id: "c9".into(),
            name: "n".into(),
            format_key: "k".into(),
            status: "approved".into(),
            tags: vec![],
            assignments: vec![],
            review_note: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let c = s.next_cursor(&KEY, "acct", &last);
        let with = |v: Value, account: &str| compile(&q(v), account, &KEY, Backend::Sqlite);
        let ok = with(json!({"pagination": {"cursor": c}}), "acct").unwrap();
        let (after, binds) = ok.after.unwrap();
        assert!(marks_in_order(&format!("{} {after}", ok.filter)));
        assert_eq!(binds, ["2026-01-01T00:00:00.000Z", "c9"]);
        assert!(with(json!({"pagination": {"cursor": c}}), "other").is_err());
        assert!(with(
            json!({"sort": {"direction": "asc"}, "pagination": {"cursor": c}}),
            "acct"
        )
        .is_err());
        assert!(with(
            json!({"sort": {"field": "name"}, "pagination": {"cursor": c}}),
            "acct"
        )
        .is_err());
        let (body, _) = c.split_once('.').unwrap();
        let forged = format!("{body}.{}", "0".repeat(64));
        assert!(with(json!({"pagination": {"cursor": forged}}), "acct").is_err());
        assert!(with(json!({"filters": {"created_after": "yesterday"}}), "acct").is_err());
    }

    #[test]
    fn summaries_fold_groups_by_status_and_format_id() {
        let (total, status, format) = summaries(&[
            ("approved".into(), "https://s.example#box".into(), 3),
            ("approved".into(), "kind:video".into(), 2),
            ("rejected".into(), "https://t.example#box".into(), 1),
        ]);
        assert_eq!(total, 6);
        assert_eq!(status["approved"], 5);
        assert_eq!(format["box"], 4);
        assert_eq!(format["video"], 2);
    }
}
