//! JSON-RPC 2.0 as MCP's Streamable HTTP uses it: one message per POST. Pure: parsing and the
//! shapes of answers.

use serde_json::{json, Map, Value};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

/// MCP protocol revisions this server speaks, newest first.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];

/// One incoming message.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// A request: it gets an answer with its `id`.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    /// A notification (no `id`) or a response from the client: acknowledged with 202, no body.
    Notification,
}

/// A malformed message: the error to answer with (`id` null when it could not be read).
#[derive(Debug, PartialEq)]
pub struct Malformed {
    pub id: Value,
    pub code: i64,
    pub message: String,
}

pub fn parse(body: &[u8]) -> Result<Message, Malformed> {
    let bad = |id: Value, code, message: &str| Malformed {
        id,
        code,
        message: message.to_owned(),
    };
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad(Value::Null, PARSE_ERROR, &format!("parse error: {e}")))?;
    let Value::Object(m) = v else {
        // Batches were dropped from MCP (2025-06-18); one message per POST.
        return Err(bad(
            Value::Null,
            INVALID_REQUEST,
            "expected one JSON-RPC message (an object)",
        ));
    };
    let id = m.get("id").cloned();
    let id_ok = matches!(&id, None | Some(Value::String(_)) | Some(Value::Number(_)));
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || !id_ok {
        return Err(bad(
            id.filter(|_| id_ok).unwrap_or(Value::Null),
            INVALID_REQUEST,
            "not a JSON-RPC 2.0 message",
        ));
    }
    let Some(method) = m.get("method").and_then(Value::as_str) else {
        // A client's response to a request of ours (we send none) or junk with an id.
        return match id {
            Some(_) if m.contains_key("result") || m.contains_key("error") => {
                Ok(Message::Notification)
            }
            _ => Err(bad(
                id.unwrap_or(Value::Null),
                INVALID_REQUEST,
                "method is required",
            )),
        };
    };
    match id {
        None => Ok(Message::Notification),
        Some(id) => {
            let params = m
                .get("params")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            if !params.is_object() {
                return Err(bad(id, INVALID_PARAMS, "params must be an object"));
            }
            Ok(Message::Request {
                id,
                method: method.to_owned(),
                params,
            })
        }
    }
}

pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The protocol revision to answer `initialize` with: the client's if we speak it, else our newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| PROTOCOL_VERSIONS.iter().find(|v| **v == r))
        .copied()
        .unwrap_or(PROTOCOL_VERSIONS[0])
}

/// Whether the answer goes as an SSE stream: only when the client accepts that and not JSON.
pub fn wants_sse(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    types.contains(&"text/event-stream")
        && !types
            .iter()
            .any(|t| matches!(*t, "application/json" | "application/*" | "*/*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_malformed_messages() {
        let r = parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
        assert_eq!(
            r,
            Message::Request {
                id: json!(7),
                method: "ping".into(),
                params: json!({})
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap(),
            Message::Notification
        );
        assert_eq!(parse(b"{nope").unwrap_err().code, PARSE_ERROR);
        assert_eq!(parse(b"[]").unwrap_err().code, INVALID_REQUEST);
        assert_eq!(
            parse(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#)
                .unwrap_err()
                .id,
            json!(1)
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#)
                .unwrap_err()
                .id,
            Value::Null
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#)
                .unwrap_err()
                .code,
            INVALID_PARAMS
        );
    }

    #[test]
    fn version_negotiation_and_sse_choice() {
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-06-18");
        assert!(wants_sse(Some("text/event-stream")));
        assert!(!wants_sse(Some("application/json, text/event-stream")));
        assert!(!wants_sse(None));
    }
}
