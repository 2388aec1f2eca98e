//! The README's tour, run as written: every ```sh block in order through `bash` against a started
//! service and demo seller (the built binaries on free ports, a temporary DATA_DIR), each answer
//! checked against the ```json sample that follows its block, so the docs cannot rot.
//!
//! Conventions of the documents (said once here; the README says them to its reader):
//! - a ```sh block is run; a ```sh no-run block is not (building and starting the binaries, which
//!   the harness does itself, or tools the test cannot assume): each test names how many its document
//!   has, and they are listed in its output, so none is skipped silently;
//! - every answer a block prints (curl prints them back to back) must be JSON, and none may be an
//!   `{"error": …}` object unless its sample is one; a block followed by a ```json block (before the next ```sh block) has
//!   its last answer checked against that sample by [`sample_matches`];
//! - blocks run from a directory laid out like the repository root (`data/` is the service's
//!   DATA_DIR, `tests/` the repository's), sharing exported variables, under `set -euo pipefail`;
//! - the documented addresses (service 127.0.0.1:8080, demo seller 127.0.0.1:8090) are rewritten
//!   to the test's free ports in blocks and samples alike (see [`rewrite_addresses`]).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

use crate::helpers::ServiceProcess;

const SERVICE_ADDR: &str = "127.0.0.1:8080";
const SELLER_ADDR: &str = "127.0.0.1:8090";

/// One fenced code block of a Markdown document: its info string and its body.
#[derive(Debug, PartialEq)]
struct Fence {
    info: String,
    body: String,
}

/// The fenced blocks of `markdown`, in order (``` fences only, as the docs use).
fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<Fence> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Fence {
                    info: info.trim().to_owned(),
                    body: String::new(),
                })
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => out.extend(open.take()),
            (Some(f), _) => {
                f.body.push_str(line);
                f.body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed ``` fence");
    out
}

/// What the harness does with one block.
#[derive(Debug, PartialEq)]
enum Step {
    /// Run the script; `sample` is the JSON the answer must match, `None` when it must print nothing.
    Run {
        script: String,
        sample: Option<String>,
    },
    /// A `sh no-run` block: commands the harness performs itself.
    NoRun(String),
}

/// The steps of a document: each `sh` block with the `json` block that follows it, if any, before
/// the next `sh` block.
fn steps(markdown: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for fence in fences(markdown) {
        match fence.info.as_str() {
            "sh" => out.push(Step::Run {
                script: fence.body,
                sample: None,
            }),
            "sh no-run" => out.push(Step::NoRun(fence.body)),
            "json" => {
                if let Some(Step::Run { sample, .. }) = out.last_mut() {
                    if sample.is_none() {
                        *sample = Some(fence.body);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Points the documented addresses at the test's service and seller.
fn rewrite_addresses(text: &str, service: &str, seller: &str) -> String {
    text.replace(SERVICE_ADDR, service)
        .replace(SELLER_ADDR, seller)
}

/// Whether `answer` matches `sample`, the one rule for every sample: objects match when every key
/// of the sample is in the answer with a matching value (keys the sample leaves out, such as
/// timestamps, are not checked); arrays have the same length and match element by element; a
/// string `"<...>"` (like `"<id>"`, `"<url>"`) matches any value but null (ids and URLs vary);
/// anything else is equal. `Err` names the JSON path of the first difference.
fn sample_matches(sample: &Value, answer: &Value, path: &str) -> Result<(), String> {
    match (sample, answer) {
        (Value::String(s), a) if s.starts_with('<') && s.ends_with('>') => {
            if a.is_null() {
                Err(format!("{path}: {s} expected, got null"))
            } else {
                Ok(())
            }
        }
        (Value::Object(s), Value::Object(a)) => s.iter().try_for_each(|(k, v)| match a.get(k) {
            Some(got) => sample_matches(v, got, &format!("{path}.{k}")),
            None => Err(format!("{path}.{k}: missing from the answer")),
        }),
        (Value::Array(s), Value::Array(a)) if s.len() == a.len() => s
            .iter()
            .zip(a)
            .enumerate()
            .try_for_each(|(i, (s, a))| sample_matches(s, a, &format!("{path}[{i}]"))),
        (s, a) if s == a => Ok(()),
        (s, a) => Err(format!("{path}: sample {s}, answer {a}")),
    }
}

/// The demo seller as a spawned binary, killed on drop.
struct DemoSeller(std::process::Child);

impl DemoSeller {
    async fn start(addr: &str, log: &Path) -> DemoSeller {
        let out = std::fs::File::create(log).expect("seller log");
        let child = Command::new(env!("CARGO_BIN_EXE_creative-manifests"))
            .arg("demo-seller")
            .env("DEMO_SELLER_ADDR", addr)
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().expect("seller log"))
            .stderr(out)
            .spawn()
            .expect("spawn the demo seller");
        let mut seller = DemoSeller(child);
        // Bounded polling until it accepts connections.
        for _ in 0..600 {
            if let Ok(Some(status)) = seller.0.try_wait() {
                panic!(
                    "the demo seller exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return seller;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the demo seller never listened on {addr}");
    }
}

impl Drop for DemoSeller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    l.local_addr().expect("addr").to_string()
}

/// Runs `script` in `dir` with bash, carrying exported variables in `dir/.env` from block to block.
fn run_block(dir: &Path, script: &str) -> (bool, String, String) {
    let wrapped =
        format!("set -euo pipefail\n[ -f .env ] && source .env\n{script}\nexport -p > .env\n");
    let out = Command::new("bash")
        .arg("-c")
        .arg(wrapped)
        .current_dir(dir)
        // Nothing from the test run leaks in (no proxies for curl, no variables of ours).
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .output()
        .expect("bash must be installed to run the docs' blocks");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs every block of `doc` (a path from the repository root) in order and checks each answer.
async fn run_document(doc: &str, no_run_blocks: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let markdown = std::fs::read_to_string(root.join(doc)).expect("the document");
    let steps = steps(&markdown);
    // Blocks the harness does not run are counted per document, so a new one is a decision made here.
    assert_eq!(
        steps.iter().filter(|s| matches!(s, Step::NoRun(_))).count(),
        no_run_blocks,
        "{doc}: `sh no-run` blocks"
    );
    assert!(
        steps.iter().any(|s| matches!(s, Step::Run { .. })),
        "{doc}: no runnable block"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(root.join("tests"), dir.path().join("tests")).expect("symlink");
    let seller_addr = free_addr();
    let _seller = DemoSeller::start(&seller_addr, &dir.path().join("seller.log")).await;
    let service = ServiceProcess::start(
        &dir.path().join("data"),
        // Nothing leaves the machine: the standard creative agent is not asked for previews.
        &[
            ("OUTBOUND_ALLOW_PRIVATE", "true"),
            ("STANDARD_AGENT_PREVIEWS", "false"),
        ],
    )
    .await
    .expect("the service starts");
    let service_addr = service.base.trim_start_matches("http://").to_owned();

    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::NoRun(body) => {
                eprintln!("{doc} block {i}: not run (`sh no-run`): {body}");
            }
            Step::Run { script, sample } => {
                let script = rewrite_addresses(script, &service_addr, &seller_addr);
                let (ok, stdout, stderr) = run_block(dir.path(), &script);
                assert!(
                    ok,
                    "{doc} block {i} failed:\n{script}\nstdout: {stdout}\nstderr: {stderr}\nservice log: {}",
                    service.log()
                );
                let answers: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
                    .into_iter::<Value>()
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| {
                        panic!("{doc} block {i}: an answer is not JSON ({e}):\n{script}\n{stdout}")
                    });
                // A block that shows an error says so in its sample.
                let shows_error = sample
                    .as_deref()
                    .is_some_and(|s| s.trim_start().starts_with(r#"{"error""#));
                for answer in answers.iter().filter(|_| !shows_error) {
                    assert!(
                        answer.get("error").is_none(),
                        "{doc} block {i} answered an error:\n{script}\n{answer}"
                    );
                }
                if let Some(sample) = sample {
                    let sample = rewrite_addresses(sample, &service_addr, &seller_addr);
                    let sample: Value = serde_json::from_str(&sample).unwrap_or_else(|e| {
                        panic!("{doc} block {i}: the sample is not JSON ({e}):\n{sample}")
                    });
                    let last = answers.last().unwrap_or_else(|| {
                        panic!("{doc} block {i} has a sample but printed nothing:\n{script}")
                    });
                    if let Err(diff) = sample_matches(&sample, last, "$") {
                        panic!("{doc} block {i}: the answer does not match its sample: {diff}\n{script}\nanswer: {last}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn docs_readme_tour_runs_as_written_and_reaches_succeeded() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    // The tour must show a successful propagation, and that must be a checked sample.
    assert!(steps(&readme).iter().any(|s| matches!(
        s,
        Step::Run { sample: Some(j), .. } if j.contains(r#""status": "succeeded""#)
    )));
    // Building and starting the service and the demo seller: the harness does both itself. The
    // creative-session example needs pictures of the reader's own (its journey runs in
    // tests/api/creative_sessions.rs).
    run_document("README.md", 3).await;
}

#[tokio::test]
async fn docs_api_reference_blocks_run_in_order() {
    run_document("docs/api.md", 0).await;
}

#[tokio::test]
async fn docs_storefront_blocks_run_in_order() {
    // The conformance block needs npm and the official runner (.ci/conformance.sh runs it in CI).
    run_document("docs/storefront.md", 1).await;
}

#[test]
fn steps_pair_each_block_with_the_sample_after_it() {
    let md = "```sh no-run\ncargo run\n```\ntext\n```sh\necho\n```\n```json\n{\"a\": 1}\n```\n```sh\ntrue\n```\n```text\nx\n```\n";
    assert_eq!(
        steps(md),
        vec![
            Step::NoRun("cargo run\n".into()),
            Step::Run {
                script: "echo\n".into(),
                sample: Some("{\"a\": 1}\n".into())
            },
            Step::Run {
                script: "true\n".into(),
                sample: None
            },
        ]
    );
}

#[test]
fn a_sample_is_a_subset_with_placeholders() {
    let answer = serde_json::json!({"id": "cr_1", "n": 2, "list": [{"a": 1, "b": 2}], "url": null});
    let ok = |s: Value| sample_matches(&s, &answer, "$");
    assert!(ok(serde_json::json!({"id": "<id>", "list": [{"a": 1}]})).is_ok());
    assert!(ok(serde_json::json!({"n": 3})).is_err());
    assert!(ok(serde_json::json!({"missing": 1})).is_err());
    assert!(ok(serde_json::json!({"list": []})).is_err());
    assert!(ok(serde_json::json!({"url": "<url>"})).is_err());
    assert!(ok(serde_json::json!({"url": null})).is_ok());
}

/// Every document with a runnable block is one a test above runs; the others mark theirs `sh no-run`.
#[test]
fn docs_every_runnable_block_is_in_a_run_document() {
    const RUN: &[&str] = &["README.md", "docs/api.md", "docs/storefront.md"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    for doc in docs {
        let markdown = std::fs::read_to_string(root.join(&doc)).expect("the document");
        let runnable = steps(&markdown)
            .iter()
            .any(|s| matches!(s, Step::Run { .. }));
        assert_eq!(
            runnable,
            RUN.contains(&doc.as_str()),
            "{doc}: runnable ```sh blocks only in documents a test runs (mark others `sh no-run`)"
        );
    }
}
