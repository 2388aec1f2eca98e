//! Where uploaded bytes end up on a local store: once, in the object store, and nowhere else.

use serde_json::{json, Value};

use crate::helpers::{fixture, TestApp};

/// Every regular file under `dir`, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_local_upload_leaves_one_copy_of_each_file_and_nothing_in_the_spool() {
    let app = TestApp::spawn().await;
    if app.config.object_store_url.is_some() {
        return; // S3: no local files to count (the suite's SQLite run covers this)
    }
    let campaign = app.create_campaign().await;
    let mut uploads: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            let mut bytes = fixture("plain.txt");
            bytes.extend(format!("\nvariant {i}\n").as_bytes());
            (format!("note{i}.txt"), bytes)
        })
        .collect();
    uploads.push(("banner.png".into(), fixture("image_300x250.png")));
    let refs: Vec<(&str, Vec<u8>)> = uploads
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let entries: Vec<Value> = uploads
        .iter()
        .map(|(n, _)| json!({"filename": n}))
        .collect();
    app.create_manifest(
        &campaign,
        &json!({"name": "Once", "assets": entries}),
        &refs,
    )
    .await;

    let data = app.config.data_dir.clone();
    let spool: Vec<_> = std::fs::read_dir(data.join("spool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(spool.is_empty(), "spool leftovers: {spool:?}");
    let everywhere = files_under(&data);
    for (name, bytes) in &uploads {
        let copies: Vec<_> = everywhere
            .iter()
            .filter(|(_, b)| b == bytes)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(copies.len(), 1, "{name}: {copies:?}");
        assert!(
            copies[0].starts_with(data.join("objects")),
            "{name} is at {:?}",
            copies[0]
        );
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(copies[0]).unwrap().nlink(), 1);
    }
    assert!(
        !everywhere
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains('#')),
        "partial writes left behind"
    );
}
