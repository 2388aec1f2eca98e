//! The manifest list's `search=`: how many manifests of a campaign match a needle, and the SQL
//! that yields one page of their ids, newest first. Each step reads an index sized by what it
//! answers, never the whole campaign: the count comes from the matches' index entries within the
//! campaign (on SQLite a rowid range of the FTS5 trigram table: trigrams, or term prefixes for
//! needles of one or two characters, migrations 0022 and 0033; on PostgreSQL a range of the
//! B-tree of each name's suffixes, read index-only, migration 0035); the page comes from the
//! matches sorted when they are few, or from walking the campaign's ordered index from the nearer
//! end when they are many (`search::page_plan`). Both backends answer the same (folding in Rust,
//! exact substring tests: FTS5 phrases and term prefixes, suffix prefixes in code point order,
//! `instr` / `strpos`).

use sqlx::Row;

use super::db::{Backend, Db};
use super::search::{
    fts5_phrase, page_plan, suffix_lookup, term_prefix_range, Needle, PagePlan, SuffixLookup,
};
use crate::ids::{CampaignId, CustomerId};

/// A bound value, `$1` onwards in the order given.
#[derive(Clone, Debug)]
pub enum Arg {
    Text(String),
    Int(i64),
}

/// SQL and its arguments (each placeholder used, as PostgreSQL requires).
#[derive(Clone, Debug)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        bind(sqlx::query(&self.text), &self.args)
    }
}

/// `q` with `args` bound in order.
pub fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &[Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s.clone()),
            Arg::Int(n) => q.bind(*n),
        };
    }
    q
}

/// Where one customer's campaign is in the search index: its number in `search_scopes`
/// (migration 0033 on SQLite, 0035 on PostgreSQL).
enum Scope {
    /// SQLite: the FTS5 rowids of the campaign's manifests, `low..=low + 2^32 - 1`, where `low` is
    /// the scope's number times 2^32 (looked up first: FTS5 needs the range as values).
    Rowids { low: i64 },
    /// PostgreSQL: the `scope` of the campaign's rows in `creative_search_suffixes`, looked up
    /// inside each query (one round trip less; no scope, no rows).
    Suffixes { customer: String, campaign: String },
}

const SCOPE_SPAN: i64 = 1 << 32;

/// The campaign's scope; None when it is known never to have held a manifest.
async fn scope(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
) -> anyhow::Result<Option<Scope>> {
    match db.backend {
        Backend::Sqlite => {
            let n: Option<i64> = sqlx::query_scalar(
                "SELECT n FROM search_scopes WHERE campaign_id = $1 AND customer_id = $2",
            )
            .bind(campaign.as_str().to_owned())
            .bind(customer.as_str().to_owned())
            .fetch_optional(&db.pool)
            .await?;
            Ok(n.map(|n| Scope::Rowids {
                low: n * SCOPE_SPAN,
            }))
        }
        Backend::Postgres => Ok(Some(Scope::Suffixes {
            customer: customer.as_str().to_owned(),
            campaign: campaign.as_str().to_owned(),
        })),
    }
}

/// The needle's matches in the campaign: how to count them, and a `FROM ... WHERE ...` of rows `r`
/// (with `r.creative_id`, `r.created_at`) to sort when they are few.
struct Matches {
    count: Sql,
    rows_from: Sql,
}

fn matches(scope: &Scope, needle: &Needle) -> Matches {
    match (scope, needle) {
        // A phrase, not GLOB: GLOB makes SQLite read each match's text back to test the pattern;
        // the phrase is answered from the trigram positions, the rowid range from the posting
        // lists. Each sorted match's row is then found by its integer key.
        (Scope::Rowids { low }, Needle::Trigrams(s)) => {
            let args = vec![
                Arg::Text(fts5_phrase(s)),
                Arg::Int(*low),
                Arg::Int(low + SCOPE_SPAN - 1),
            ];
            let found = "creative_search s WHERE s.name MATCH $1 AND s.rowid BETWEEN $2 AND $3";
            Matches {
                count: Sql {
                    text: format!("SELECT COUNT(*) AS n FROM {found}"),
                    args: args.clone(),
                },
                // CROSS JOIN keeps the order as written: the matches first.
                rows_from: Sql {
                    text: "creative_search s CROSS JOIN creative_search_rows r \
                           WHERE s.name MATCH $1 AND s.rowid BETWEEN $2 AND $3 AND r.n = s.rowid - $2"
                        .into(),
                    args,
                },
            }
        }
        // Every character of an indexed name starts a trigram (the text ends in two end
        // markers), so the names containing a short needle are the documents of the terms that
        // start with it: a range of the vocabulary.
        (Scope::Rowids { low }, Needle::Short(s)) => {
            let (first, last) = term_prefix_range(s);
            let args = vec![
                Arg::Text(first),
                Arg::Text(last),
                Arg::Int(*low),
                Arg::Int(low + SCOPE_SPAN - 1),
            ];
            let docs = "FROM creative_search_vocab v \
                        WHERE v.term >= $1 AND v.term <= $2 AND v.doc BETWEEN $3 AND $4";
            Matches {
                count: Sql {
                    text: format!("SELECT COUNT(DISTINCT v.doc) AS n {docs}"),
                    args: args.clone(),
                },
                rows_from: Sql {
                    text: format!("creative_search_rows r WHERE r.n IN (SELECT v.doc - $3 {docs})"),
                    args,
                },
            }
        }
        // The names whose suffixes start with the needle: a range of the B-tree
        // (scope, suffix, rep, doc), read index-only. A name holding the needle twice has two
        // such suffixes, but only the first occurrence has fewer than the needle's length of
        // leading characters seen earlier in the name (`rep`), so each name is one entry. A
        // needle longer than the indexed suffixes takes the range of its start, then each
        // candidate's name is tested.
        (Scope::Suffixes { customer, campaign }, needle) => {
            let (range, check) = match suffix_lookup(needle.folded()) {
                SuffixLookup::Exact(range) => (range, None),
                SuffixLookup::Candidates(range) => (range, Some(needle.folded().to_owned())),
            };
            let first_occurrence = range.from.chars().count() as i64;
            let mut args = vec![
                Arg::Text(customer.clone()),
                Arg::Text(campaign.clone()),
                Arg::Int(first_occurrence),
                Arg::Text(range.from),
            ];
            let mut docs = "SELECT s.doc FROM creative_search_suffixes s \
                            WHERE s.scope = (SELECT n FROM search_scopes \
                            WHERE customer_id = $1 AND campaign_id = $2) \
                            AND s.rep < $3 AND s.suffix >= $4"
                .to_owned();
            if let Some(below) = range.below {
                args.push(Arg::Text(below));
                docs.push_str(&format!(" AND s.suffix < ${}", args.len()));
            }
            // Exact: the index entries are the matches, counted index-only. Candidates: each
            // name decides.
            let (count, found) = match check {
                None => (
                    format!("SELECT COUNT(*) AS n FROM ({docs}) d"),
                    format!("creative_search_rows r WHERE r.n IN ({docs})"),
                ),
                Some(whole) => {
                    args.push(Arg::Text(whole));
                    let found = format!(
                        "creative_search_rows r WHERE r.n IN ({docs}) \
                         AND strpos(r.name_search, ${}) > 0",
                        args.len()
                    );
                    (format!("SELECT COUNT(*) AS n FROM {found}"), found)
                }
            };
            Matches {
                count: Sql {
                    text: count,
                    args: args.clone(),
                },
                rows_from: Sql { text: found, args },
            }
        }
    }
}

/// A search worked out: how to count the matches, how many there are, the page's plan and its
/// ids as SQL (`SELECT <id> ...`; None: nothing to read).
struct Planned {
    count: Sql,
    total: i64,
    plan: PagePlan,
    page: Option<Sql>,
}

/// Counts the needle's matches in the campaign and plans the page (None: the campaign never held
/// a manifest).
async fn plan(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    needle: &Needle,
    take: i64,
    skip: i64,
) -> anyhow::Result<Option<Planned>> {
    let Some(scope) = scope(db, customer, campaign).await? else {
        return Ok(None);
    };
    let m = matches(&scope, needle);
    let count = m.count.clone();
    let total: i64 = count.query().fetch_one(&db.pool).await?.try_get("n")?;
    let plan = page_plan(total, skip, take);
    let page = page_sql(db.backend, customer, campaign, needle, m, plan, take, skip);
    Ok(Some(Planned {
        count,
        total,
        plan,
        page,
    }))
}

/// How many of the campaign's manifests match, and the page's ids as SQL (`SELECT <id> ...`;
/// None: nothing to read). LIMIT and OFFSET are written in: they are integers the caller checked.
pub(super) async fn find(
    db: &Db,
    customer: &CustomerId,
    campaign: &CampaignId,
    needle: &Needle,
    take: i64,
    skip: i64,
) -> anyhow::Result<(i64, Option<Sql>)> {
    Ok(
        match plan(db, customer, campaign, needle, take, skip).await? {
            Some(p) => (p.total, p.page),
            None => (0, None),
        },
    )
}

#[allow(clippy::too_many_arguments)]
fn page_sql(
    backend: Backend,
    customer: &CustomerId,
    campaign: &CampaignId,
    needle: &Needle,
    m: Matches,
    plan: PagePlan,
    take: i64,
    skip: i64,
) -> Option<Sql> {
    // The campaign's index (campaign_id, customer_id, created_at, id, name_search) read in order,
    // each entry tested for the substring: `instr` and `strpos` compare characters exactly, no
    // pattern syntax to escape.
    let walk = |direction: &str, offset: i64, limit: i64| {
        let contains = match backend {
            Backend::Sqlite => "instr(c.name_search, $3) > 0",
            Backend::Postgres => "strpos(c.name_search, $3) > 0",
        };
        Sql {
            text: format!(
                "SELECT c.id FROM creatives c WHERE c.customer_id = $1 AND c.campaign_id = $2 \
                 AND {contains} ORDER BY c.created_at {direction}, c.id {direction} \
                 LIMIT {limit} OFFSET {offset}"
            ),
            args: vec![
                Arg::Text(customer.as_str().to_owned()),
                Arg::Text(campaign.as_str().to_owned()),
                Arg::Text(needle.folded().to_owned()),
            ],
        }
    };
    match plan {
        PagePlan::Empty => None,
        PagePlan::SortMatches => Some(Sql {
            text: format!(
                "SELECT r.creative_id FROM {} ORDER BY r.created_at DESC, r.creative_id DESC \
                 LIMIT {take} OFFSET {skip}",
                m.rows_from.text
            ),
            args: m.rows_from.args,
        }),
        PagePlan::WalkNewest { offset, limit } => Some(walk("DESC", offset, limit)),
        PagePlan::WalkOldest { offset, limit } => Some(walk("ASC", offset, limit)),
    }
}

/// The database's plans for the count and the page's ids of a search, one line per plan node
/// (`EXPLAIN QUERY PLAN` on SQLite; `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL, which runs the
/// query, so heap fetches and pages read show): the search bench prints them, so the figures come
/// with the plans that made them.
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
    let Some(p) = plan(db, customer, campaign, &needle, take, skip).await? else {
        return Ok(vec![]);
    };
    let mut out = vec![format!("page plan: {:?} ({} matches)", p.plan, p.total)];
    let explain = match db.backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN",
        Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS)",
    };
    let mut queries = vec![("count", p.count)];
    if let Some(page) = p.page {
        queries.push(("page ids", page));
    }
    for (what, sql) in queries {
        out.push(format!("{what}:"));
        let text = format!("{explain} {}", sql.text);
        let rows = bind(sqlx::query(&text), &sql.args)
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
