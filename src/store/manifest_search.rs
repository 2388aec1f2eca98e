//! The manifest list's `search=`: how many manifests of a campaign match a needle, and the SQL
//! that yields one page of their ids, newest first. Each step reads an index sized by what it
//! answers, never the whole campaign: the count comes from the matches' index entries (trigrams,
//! or the one- and two-character lookups for short needles), each checked against the campaign by
//! a narrow row (`creative_search_rows`, migrations 0022 and 0033); the page comes from the
//! matches sorted when they are few, or from walking the campaign's ordered index from the nearer
//! end when they are many (`search::page_plan`). Both backends answer the same (folding in Rust,
//! exact substring tests: FTS5 phrases, pg_trgm's LIKE with its recheck, `instr` / `strpos`).

use sqlx::Row;

use super::db::{Backend, Db};
use super::search::{fts5_phrase, like_contains, page_plan, term_prefix_range, Needle, PagePlan};
use crate::ids::{CampaignId, CustomerId};

/// The needle's matches in the index that finds them: rows `r` of `creative_search_rows` (its
/// `creative_id`, `created_at`), with `$1` the customer, `$2` the campaign and `$3`.. the args.
#[derive(Clone)]
struct Matches {
    from_where: String,
    args: Vec<String>,
}

fn matches(backend: Backend, needle: &Needle) -> Matches {
    let scope = "r.customer_id = $1 AND r.campaign_id = $2";
    match (backend, needle) {
        // FTS5 first (CROSS JOIN keeps the order as written), then each match's row by its
        // integer key. A phrase, not GLOB: GLOB makes SQLite read each match's text back to test
        // the pattern, the phrase is answered from the trigram positions alone.
        (Backend::Sqlite, Needle::Trigrams(s)) => Matches {
            from_where: format!(
                "creative_search s CROSS JOIN creative_search_rows r \
                 WHERE s.name MATCH $3 AND r.n = s.rowid AND {scope}"
            ),
            args: vec![fts5_phrase(s)],
        },
        // Every character of an indexed name starts a trigram (the text ends in two end
        // markers), so the names containing a short needle are the documents of the terms that
        // start with it: a range of the vocabulary.
        (Backend::Sqlite, Needle::Short(s)) => {
            let (low, high) = term_prefix_range(s);
            Matches {
                from_where: format!(
                    "creative_search_rows r WHERE r.n IN \
                     (SELECT v.doc FROM creative_search_vocab v WHERE v.term >= $3 AND v.term <= $4) \
                     AND {scope}"
                ),
                args: vec![low, high],
            }
        }
        (Backend::Postgres, Needle::Trigrams(s)) => Matches {
            from_where: format!(
                "creative_search_rows r WHERE r.name_search LIKE $3 ESCAPE '\\' AND {scope}"
            ),
            args: vec![like_contains(s)],
        },
        (Backend::Postgres, Needle::Short(s)) => Matches {
            from_where: format!(
                "creative_search_rows r WHERE r.short_grams @> ARRAY[CAST($3 AS TEXT)] AND {scope}"
            ),
            args: vec![s.clone()],
        },
    }
}

/// A page of matching ids as SQL (`SELECT <id> ...`) and its arguments after `$1` customer and
/// `$2` campaign. LIMIT and OFFSET are written in: they are integers the caller checked.
pub struct PageSql {
    pub ids: String,
    pub args: Vec<String>,
}

/// How many of the campaign's manifests match, and the SQL for the page (None: past the end).
pub(super) async fn find(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    needle: &Needle,
    take: i64,
    skip: i64,
) -> anyhow::Result<(i64, Option<PageSql>)> {
    let m = matches(db.backend, needle);
    let count_sql = format!("SELECT COUNT(*) AS n FROM {}", m.from_where);
    let total: i64 = scoped(&count_sql, customer, campaign, &m.args)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let page = page_sql(
        db.backend,
        needle,
        m,
        page_plan(total, skip, take),
        take,
        skip,
    );
    Ok((total, page))
}

fn scoped<'q>(
    sql: &'q str,
    customer: &CustomerId,
    campaign: &CampaignId,
    args: &[String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql)
        .bind(customer.as_str().to_owned())
        .bind(campaign.as_str().to_owned());
    for a in args {
        q = q.bind(a.clone());
    }
    q
}

/// The database's plans for the count and the page's ids of a search, one line per plan node
/// (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL): the search bench prints them, so
/// the figures come with the plans that made them.
pub async fn explain(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    search: &str,
    take: i64,
    skip: i64,
) -> anyhow::Result<Vec<String>> {
    let Some(needle) = Needle::new(search) else {
        return Ok(vec![]);
    };
    let m = matches(db.backend, &needle);
    let count_sql = format!("SELECT COUNT(*) AS n FROM {}", m.from_where);
    let total: i64 = scoped(&count_sql, customer, campaign, &m.args)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let plan = page_plan(total, skip, take);
    let mut out = vec![format!("page plan: {plan:?} ({total} matches)")];
    let explain = match db.backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN",
        Backend::Postgres => "EXPLAIN",
    };
    let page = page_sql(db.backend, &needle, m.clone(), plan, take, skip);
    let mut queries = vec![("count", count_sql, m.args)];
    if let Some(page) = page {
        queries.push(("page ids", page.ids, page.args));
    }
    for (what, sql, args) in queries {
        out.push(format!("{what}:"));
        let sql = format!("{explain} {sql}");
        let rows = scoped(&sql, customer, campaign, &args)
            .fetch_all(&db.pool)
            .await?;
        for r in rows {
            // SQLite: id, parent, notused, detail; PostgreSQL: one text column.
            let line: String = match db.backend {
                Backend::Sqlite => r.try_get("detail")?,
                Backend::Postgres => r.try_get(0)?,
            };
            out.push(format!("  {line}"));
        }
    }
    Ok(out)
}

fn page_sql(
    backend: Backend,
    needle: &Needle,
    m: Matches,
    plan: PagePlan,
    take: i64,
    skip: i64,
) -> Option<PageSql> {
    // The campaign's index (campaign_id, customer_id, created_at, id, name_search) read in order,
    // each entry tested for the substring: `instr` and `strpos` compare characters exactly, no
    // pattern syntax to escape.
    let walk = |direction: &str, offset: i64, limit: i64| {
        let contains = match backend {
            Backend::Sqlite => "instr(c.name_search, $3) > 0",
            Backend::Postgres => "strpos(c.name_search, $3) > 0",
        };
        PageSql {
            ids: format!(
                "SELECT c.id FROM creatives c WHERE c.customer_id = $1 AND c.campaign_id = $2 \
                 AND {contains} ORDER BY c.created_at {direction}, c.id {direction} \
                 LIMIT {limit} OFFSET {offset}"
            ),
            args: vec![needle.folded().to_owned()],
        }
    };
    match plan {
        PagePlan::Empty => None,
        PagePlan::SortMatches => Some(PageSql {
            ids: format!(
                "SELECT r.creative_id FROM {} ORDER BY r.created_at DESC, r.creative_id DESC \
                 LIMIT {take} OFFSET {skip}",
                m.from_where
            ),
            args: m.args,
        }),
        PagePlan::WalkNewest { offset, limit } => Some(walk("DESC", offset, limit)),
        PagePlan::WalkOldest { offset, limit } => Some(walk("ASC", offset, limit)),
    }
}
