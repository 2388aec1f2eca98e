//! The library tools (`sync_creatives`, `list_creatives`): the I/O around the pure decisions in
//! `storefront::{sync, idempotency, library}`.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::error::{parse_args, ToolResult};
use super::error::{AdcpError, Recovery};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::db::now;
use crate::storefront::idempotency::{self, Decision};
use crate::storefront::library::{self, CursorKey, ListQuery};
use crate::storefront::library_store::{self as lib, Claim, PushConfig, Write};
use crate::storefront::list_sql;
use crate::storefront::sync::{self, Outcome, SyncRequest, ValidationMode};
use crate::storefront::{review, Account, ReviewMode, Storefront};

/// How long a sync's answer is replayed for its idempotency key (declared here, kept by the store).
pub const REPLAY_TTL_SECONDS: u64 = 86_400;

/// How long a claimed key may stay in flight before it is taken to have died with its process.
pub const IN_FLIGHT_MAX_SECONDS: i64 = 60;

fn internal(e: impl Into<anyhow::Error>) -> AdcpError {
    ApiError::Internal(e.into()).into()
}

/// The AdCP `account` of a request, resolved among the caller's own accounts (a key is one
/// account): anything else answers as if it did not exist.
pub fn resolve_account<'a>(
    caller: &'a Account,
    requested: Option<&Value>,
) -> Result<&'a Account, AdcpError> {
    let not_found = || {
        AdcpError::new("ACCOUNT_NOT_FOUND", Recovery::Terminal, "no such account")
            .with_field("account")
    };
    let Some(r) = requested else {
        return Ok(caller);
    };
    if let Some(id) = r.get("account_id") {
        return if id.as_str() == Some(caller.id.as_str()) {
            Ok(caller)
        } else {
            Err(not_found())
        };
    }
    let brand = r["brand"]["domain"].as_str();
    let operator = r["operator"].as_str();
    match (brand, operator) {
        (Some(b), Some(o)) if caller.has_natural_key(b, o) => Ok(caller),
        (Some(_), Some(_)) => Err(not_found()),
        _ => Err(AdcpError::validation(
            "account",
            "account is {account_id} or {brand: {domain}, operator}",
        )),
    }
}

/// Push-notification URLs must be public HTTPS: checked now, and again (resolved and pinned) at
/// each send (`storefront::review::callback`).
fn check_push_url(url: &str, policy: crate::outbound::public_url::Policy) -> Result<(), AdcpError> {
    crate::outbound::public_url::check(url, policy)
        .map(|_| ())
        .map_err(|why| AdcpError::validation("push_notification_config.url", why))
}

/// The push config to store: credentials sealed, the rest as sent.
fn push_config(state: &AppState, cfg: &Value) -> Result<PushConfig, AdcpError> {
    let url = cfg["url"]
        .as_str()
        .ok_or_else(|| AdcpError::validation("push_notification_config.url", "url is required"))?;
    check_push_url(url, review::callback_policy(&state.config))?;
    let mut config = cfg.clone();
    let credentials = config
        .get_mut("authentication")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove("credentials"));
    let creds_field = "push_notification_config.authentication.credentials";
    // The scheme the review webhooks will use: refused now rather than at the first send.
    if config.get("authentication").is_some() {
        if let Err(why) = review::webhook::Scheme::of(&config) {
            return Err(AdcpError::validation(
                "push_notification_config.authentication.schemes",
                why,
            ));
        }
        if credentials.is_none() {
            return Err(AdcpError::validation(
                creds_field,
                "credentials are required with a scheme",
            ));
        }
    }
    if let Some(Value::String(c)) = &credentials {
        // AdCP: at least 32 characters; an HMAC secret must also not be one repeated character.
        let hmac = config["authentication"]["schemes"][0] == "HMAC-SHA256";
        let weak =
            c.chars().count() < 32 || (hmac && crate::adcp::webhook_hmac::check_secret(c).is_err());
        if weak {
            return Err(AdcpError::validation(
                creds_field,
                "credentials must be at least 32 characters (an HMAC secret not one repeated character)",
            ));
        }
    }
    let sealed_credentials = match credentials {
        Some(Value::String(c)) => Some(state.db.seal(&c).map_err(internal)?),
        Some(_) => {
            return Err(AdcpError::validation(
                "push_notification_config.authentication.credentials",
                "credentials must be a string",
            ))
        }
        None => None,
    };
    Ok(PushConfig {
        url: url.to_owned(),
        config,
        sealed_credentials,
    })
}

pub async fn sync_creatives(
    state: &AppState,
    storefront: &Storefront,
    caller: &Account,
    args: &Value,
) -> ToolResult {
    let req: SyncRequest = parse_args(args)?;
    let key = req.idempotency_key.clone().ok_or_else(|| {
        AdcpError::invalid_request("idempotency_key is required").with_field("idempotency_key")
    })?;
    if !idempotency::valid_key(&key) {
        return Err(AdcpError::invalid_request(
            "idempotency_key must match ^[A-Za-z0-9_.:-]{16,255}$",
        )
        .with_field("idempotency_key"));
    }
    req.check()?;
    let account = resolve_account(caller, req.account.as_ref())?;
    let push = match req.push_config().map(|c| push_config(state, c)).transpose() {
        Ok(p) => p,
        // A callback the storefront will not call refuses the creatives it was for, each with
        // the reason, and nothing is queued or stored.
        Err(e)
            if e.field
                .as_deref()
                .is_some_and(|f| f.starts_with("push_notification_config")) =>
        {
            return Ok(refused_for_each(&req, &e));
        }
        Err(e) => return Err(e),
    };

    let formats: HashMap<String, Value> =
        crate::store::formats::for_agent(&state.db, &storefront.sales_agent_id)
            .await
            .map_err(internal)?
            .into_iter()
            .filter_map(|f| sync::format_key(&f["format_id"]).map(|k| (k, f)))
            .collect();
    let in_scope = |c: &&Value| {
        req.creative_ids.as_ref().is_none_or(|ids| {
            c["creative_id"]
                .as_str()
                .is_some_and(|id| ids.iter().any(|x| x == id))
        })
    };
    let checked: Vec<_> = req
        .creatives
        .iter()
        .enumerate()
        .filter(|(_, c)| in_scope(c))
        .map(|(i, c)| sync::check_creative(i, c, &formats))
        .collect();
    let ids: Vec<String> = checked
        .iter()
        .map(|c| match c {
            Ok(c) => c.creative_id.clone(),
            Err((id, _)) => id.clone(),
        })
        .collect();

    let hash = idempotency::request_hash(args);
    let at = now();
    if !req.dry_run {
        let expires = (chrono::Utc::now() + chrono::Duration::seconds(REPLAY_TTL_SECONDS as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let stale = (chrono::Utc::now() - chrono::Duration::seconds(IN_FLIGHT_MAX_SECONDS))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match lib::claim(&state.db, &account.id, &key, &hash, &at, &expires, &stale).await? {
            Claim::Fresh => {}
            Claim::Seen(stored) => {
                return match idempotency::decide(&stored, &hash) {
                    Decision::Replay(answer) => {
                        let mut v: Value = serde_json::from_str(&answer).map_err(internal)?;
                        v["replayed"] = json!(true);
                        Ok(v)
                    }
                    Decision::Conflict => Err(AdcpError::new(
                        "IDEMPOTENCY_CONFLICT",
                        Recovery::Correctable,
                        "this idempotency_key was used for a different request",
                    )),
                    Decision::InFlight => Err(AdcpError {
                        retry_after: Some(1),
                        ..AdcpError::new(
                            "IDEMPOTENCY_IN_FLIGHT",
                            Recovery::Transient,
                            "a request with this idempotency_key is still running",
                        )
                    }),
                };
            }
        }
    }
    let result = plan_and_write(
        state, storefront, account, &req, checked, &ids, &key, &at, push,
    )
    .await;
    if !req.dry_run && !matches!(result, Ok((_, true))) {
        // Only successes are kept: a failed or not-applied sync leaves the key free.
        lib::release(&state.db, &account.id, &key).await?;
    }
    result.map(|(answer, _)| answer)
}

/// The answer to a sync whose push config is refused: every creative in scope `failed` with the
/// reason (a failed item carries no `status`).
fn refused_for_each(req: &SyncRequest, e: &AdcpError) -> Value {
    let items: Vec<Value> = req
        .creatives
        .iter()
        .filter(|c| {
            req.creative_ids.as_ref().is_none_or(|ids| {
                c["creative_id"]
                    .as_str()
                    .is_some_and(|id| ids.iter().any(|x| x == id))
            })
        })
        .map(|c| {
            json!({"creative_id": c["creative_id"].as_str().unwrap_or_default(), "action": "failed",
                   "errors": [e.to_value()]})
        })
        .collect();
    let mut answer = json!({"status": "completed", "creatives": items});
    if req.dry_run {
        answer["dry_run"] = json!(true);
    }
    answer
}

/// Plans the sync and, unless it is a dry run or a strict failure, writes it with its answer.
/// Returns the answer and whether it was stored.
#[allow(clippy::too_many_arguments)]
async fn plan_and_write(
    state: &AppState,
    storefront: &Storefront,
    account: &Account,
    req: &SyncRequest,
    checked: Vec<Result<sync::Checked, (String, Vec<AdcpError>)>>,
    ids: &[String],
    key: &str,
    at: &str,
    push: Option<PushConfig>,
) -> Result<(Value, bool), AdcpError> {
    let current = lib::current(&state.db, &account.id, ids)
        .await
        .map_err(internal)?;
    let live = if req.delete_missing {
        lib::live_ids(&state.db, &account.id).await?
    } else {
        vec![]
    };
    let outcomes = sync::plan(
        checked,
        &current,
        &live,
        req.delete_missing,
        req.validation_mode,
    );
    let manual = storefront.review_mode == ReviewMode::Manual;
    let items: Vec<Value> = outcomes
        .iter()
        .map(|o| match o {
            // A decided creative synced again unchanged answers its current decision.
            Outcome::Unchanged {
                creative_id,
                status,
            } if manual => {
                let note = current
                    .get(creative_id)
                    .and_then(|c| c.review_note.as_deref());
                review::resync_item(creative_id, status, note)
                    .unwrap_or_else(|| sync::answer_item(o, storefront.review_mode))
            }
            _ => sync::answer_item(o, storefront.review_mode),
        })
        .collect();
    let mut answer = json!({"status": "completed", "creatives": items});
    if req.dry_run {
        answer["dry_run"] = json!(true);
        return Ok((answer, false));
    }
    let strict_failure = req.validation_mode == ValidationMode::Strict
        && outcomes.iter().any(|o| matches!(o, Outcome::Failed { .. }));
    if strict_failure {
        return Ok((answer, false));
    }
    let applied: Vec<&str> = outcomes
        .iter()
        .filter(|o| !matches!(o, Outcome::Failed { .. }))
        .map(sync::outcome_id)
        .collect();
    let assignments: Vec<(String, String)> = req
        .assignments
        .iter()
        .flatten()
        .filter(|a| {
            applied.contains(&a.creative_id.as_str()) || current.contains_key(&a.creative_id)
        })
        .map(|a| (a.creative_id.clone(), a.package_id.clone()))
        .collect();
    let text = serde_json::to_string(&answer).map_err(internal)?;
    lib::apply(
        &state.db,
        Write {
            account: &account.id,
            outcomes: &outcomes,
            status: sync::new_status(storefront.review_mode),
            assignments: &assignments,
            now: at,
            idempotency_key: key,
            answer: &text,
            push,
            review: review::store::Submission {
                customer: &storefront.customer_id,
                storefront_id: storefront.id.as_str(),
                account_id: account.id.as_str(),
                manual,
                push_key: None,
                context: req.context.as_ref(),
                forward_attempts: state.config.job_max_attempts.max(1),
            },
        },
    )
    .await
    .map_err(internal)?;
    Ok((answer, true))
}

pub async fn list_creatives(state: &AppState, caller: &Account, args: &Value) -> ToolResult {
    let q: ListQuery = parse_args(args)?;
    let account = resolve_account(caller, args.get("account"))?;
    let key = CursorKey(state.signer.derive_key("storefront-list-cursor"));
    let sql = list_sql::compile(&q, account.id.as_str(), &key, state.db.backend)?;
    let (mut items, groups) = lib::list(&state.db, &sql).await.map_err(internal)?;
    let has_more = items.len() > sql.size;
    items.truncate(sql.size);
    let cursor = match (has_more, items.last()) {
        (true, Some(last)) => Some(sql.next_cursor(&key, account.id.as_str(), last)),
        _ => None,
    };
    let (total_matching, status_summary, format_summary) = list_sql::summaries(&groups);
    let ids: Vec<String> = items.iter().map(|c| c.creative_id.clone()).collect();
    let payloads = if q.fields.is_none() {
        lib::payloads(&state.db, &account.id, &ids)
            .await
            .map_err(internal)?
    } else {
        HashMap::new()
    };
    let include_assignments = q.include_assignments.unwrap_or(true);
    let creatives: Vec<Value> = items
        .iter()
        .map(|c| {
            library::item(
                c,
                payloads.get(&c.creative_id).map(|p| &p["assets"]),
                q.fields.as_deref(),
                include_assignments,
            )
        })
        .collect();
    let mut pagination = json!({"has_more": has_more, "total_count": total_matching});
    if let Some(c) = cursor {
        pagination["cursor"] = json!(c);
    }
    Ok(json!({
        "status": "completed",
        "query_summary": {
            "total_matching": total_matching,
            "returned": creatives.len(),
            "filters_applied": sql.filters_applied,
            "sort_applied": {"field": q.sort.field, "direction": q.sort.direction},
        },
        "pagination": pagination,
        "creatives": creatives,
        "status_summary": status_summary,
        "format_summary": format_summary,
    }))
}

/// `get_creative_delivery`: forwarded to the underlying agent when it advertises the tool (under
/// the storefront's credentials, limited to the caller's creatives, and its answer restricted to
/// them); otherwise the schema's shape with the period asked and no creatives (an empty list is
/// honest; invented numbers are not).
pub async fn get_creative_delivery(
    state: &AppState,
    storefront: &Storefront,
    caller: &Account,
    args: &Value,
) -> ToolResult {
    let account = resolve_account(caller, args.get("account"))?;
    let has = |f: &str| args[f].as_array().is_some_and(|a| !a.is_empty());
    if !has("creative_ids") && !has("media_buy_ids") {
        return Err(AdcpError::validation(
            "creative_ids",
            "creative_ids or media_buy_ids is required",
        ));
    }
    let (start, end) = delivery_period(args)?;
    let owned: HashSet<String> = lib::live_and_archived_ids(&state.db, &account.id).await?;
    let agent = crate::store::sales_agents::get(
        &state.db,
        &storefront.customer_id,
        &storefront.sales_agent_id,
    )
    .await?;
    let forwardable = agent.as_ref().is_some_and(|a| {
        a.capabilities
            .advertised_tools
            .iter()
            .any(|t| t == "get_creative_delivery")
    });
    if let (true, Some(agent)) = (forwardable, agent) {
        if let Some(forwarded) = delivery_request(args, &owned, agent.account_id.as_deref()) {
            let answer = async {
                let mut client = crate::adcp::mcp::McpClient::connect(
                    &state.outbound,
                    &agent.endpoint_url,
                    agent.auth_token.as_ref(),
                )
                .await?;
                client.call_tool("get_creative_delivery", forwarded).await
            }
            .await
            .map_err(|e| {
                tracing::info!(agent = %agent.id, error = %e, "get_creative_delivery forward failed");
                AdcpError::new(
                    "SERVICE_UNAVAILABLE",
                    Recovery::Transient,
                    "the underlying sales agent did not answer",
                )
            })?;
            return Ok(restrict_delivery(answer, &owned, account.id.as_str()));
        }
    }
    Ok(json!({
        "status": "completed",
        "account_id": account.id.as_str(),
        "reporting_period": {
            "start": format!("{start}T00:00:00Z"),
            "end": format!("{end}T23:59:59Z"),
            "timezone": "UTC",
        },
        // The schema requires a currency even when nothing is reported.
        "currency": "USD",
        "creatives": [],
    }))
}

fn delivery_period(args: &Value) -> Result<(chrono::NaiveDate, chrono::NaiveDate), AdcpError> {
    let day = |f: &str| -> Result<Option<chrono::NaiveDate>, AdcpError> {
        args[f]
            .as_str()
            .map(|d| {
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| AdcpError::validation(f, "a date is YYYY-MM-DD"))
            })
            .transpose()
    };
    let end = day("end_date")?.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let start = day("start_date")?.unwrap_or(end - chrono::Duration::days(30));
    if start > end {
        return Err(AdcpError::validation(
            "start_date",
            "start_date is after end_date",
        ));
    }
    Ok((start, end))
}

/// The request sent to the underlying agent: only the caller's creative ids (None when none of the
/// asked ids is the caller's and no media buy is named: nothing to ask), the agent's own account,
/// and no buyer context.
pub fn delivery_request(
    args: &Value,
    owned: &HashSet<String>,
    agent_account: Option<&str>,
) -> Option<Value> {
    let mut out = args.clone();
    let m = out.as_object_mut()?;
    m.remove("context");
    m.remove("account");
    if let Some(a) = agent_account {
        m.insert("account".into(), json!({"account_id": a}));
    }
    if let Some(ids) = args["creative_ids"].as_array() {
        let mine: Vec<&Value> = ids
            .iter()
            .filter(|id| id.as_str().is_some_and(|id| owned.contains(id)))
            .collect();
        if mine.is_empty() {
            m.remove("creative_ids");
        } else {
            m.insert("creative_ids".into(), json!(mine));
        }
    }
    let asks = m.contains_key("creative_ids") || m.contains_key("media_buy_ids");
    asks.then_some(out)
}

/// The agent's answer with only the caller's creatives, as this storefront's account.
pub fn restrict_delivery(mut answer: Value, owned: &HashSet<String>, account_id: &str) -> Value {
    if let Some(list) = answer.get_mut("creatives").and_then(Value::as_array_mut) {
        list.retain(|c| {
            c["creative_id"]
                .as_str()
                .is_some_and(|id| owned.contains(id))
        });
    } else {
        answer["creatives"] = json!([]);
    }
    if let Some(p) = answer.get_mut("pagination").and_then(Value::as_object_mut) {
        // Counts of the agent's whole answer would tell of other buyers' creatives.
        p.remove("total_count");
        p.remove("total");
    }
    answer["account_id"] = json!(account_id);
    answer["status"] = json!("completed");
    if let Some(m) = answer.as_object_mut() {
        m.remove("context");
        m.remove("replayed");
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, StorefrontId};

    fn account() -> Account {
        Account {
            id: AccountId::new(),
            storefront_id: StorefrontId::new(),
            name: "a".into(),
            brand_domains: vec!["acme.com".into()],
            operator: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn accounts_resolve_to_the_caller_only() {
        let a = account();
        assert!(resolve_account(&a, None).is_ok());
        assert!(resolve_account(&a, Some(&json!({"account_id": a.id.as_str()}))).is_ok());
        assert!(resolve_account(
            &a,
            Some(&json!({"brand": {"domain": "acme.com"}, "operator": "acme.com"}))
        )
        .is_ok());
        let other = AccountId::new();
        let e = resolve_account(&a, Some(&json!({"account_id": other.as_str()}))).unwrap_err();
        assert_eq!(e.code, "ACCOUNT_NOT_FOUND");
        let e = resolve_account(
            &a,
            Some(&json!({"brand": {"domain": "evil.com"}, "operator": "evil.com"})),
        )
        .unwrap_err();
        assert_eq!(e.code, "ACCOUNT_NOT_FOUND");
    }

    #[test]
    fn delivery_is_asked_and_answered_for_the_callers_creatives_only() {
        let owned: HashSet<String> = ["mine".to_owned()].into();
        let req = delivery_request(
            &json!({"creative_ids": ["mine", "theirs"], "context": {"c": 1}, "account": {"account_id": "acct_x"}}),
            &owned,
            Some("seller-acct"),
        )
        .unwrap();
        assert_eq!(
            req,
            json!({"creative_ids": ["mine"], "account": {"account_id": "seller-acct"}})
        );
        assert!(delivery_request(&json!({"creative_ids": ["theirs"]}), &owned, None).is_none());
        let answer = restrict_delivery(
            json!({"creatives": [{"creative_id": "mine", "variants": []}, {"creative_id": "theirs", "variants": []}],
                   "pagination": {"limit": 10, "offset": 0, "has_more": false, "total_count": 2}}),
            &owned,
            "acct_me",
        );
        assert_eq!(answer["creatives"].as_array().unwrap().len(), 1);
        assert!(answer["pagination"].get("total_count").is_none());
        assert_eq!(answer["account_id"], "acct_me");
    }

    #[test]
    fn push_urls_must_be_public_https() {
        let check_push_url = |u| check_push_url(u, crate::outbound::public_url::Policy::default());
        assert!(check_push_url("https://hooks.buyer.example/adcp").is_ok());
        for bad in [
            "http://hooks.buyer.example/x",
            "https://localhost/x",
            "https://a.localhost/x",
            "https://intranet/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://metadata.google.internal/x",
        ] {
            assert!(check_push_url(bad).is_err(), "{bad}");
        }
    }
}
