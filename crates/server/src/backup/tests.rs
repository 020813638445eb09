use std::io::{Seek, Write};

use super::*;
use crate::config::NodeDirSetup;
use liaison_identity::identity::NodeDir;
use liaison_store::store::Store;

fn passphrase() -> age::secrecy::SecretString {
    age::secrecy::SecretString::from("correct horse battery staple".to_string())
}

const HEADS_JSON: &str = r#"{"latest":{},"roots":{},"conflicts":[],"own":{"position":7,"size":3,"root":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"last_sequence":3}}"#;

/// A fresh node directory and a backup of it (with keys when asked).
fn node_and_backup(with_keys: bool) -> (tempfile::TempDir, NodeDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = NodeDir::new(tmp.path().join("node"));
    dir.init(&crate::config::Config::new(
        "Agency K (example)",
        "127.0.0.1:0",
    ))
    .unwrap();
    // Our head chain's state: a restored node resumes it (see HEADS).
    std::fs::write(dir.heads_file(), HEADS_JSON).unwrap();
    let store = Store::open(&dir.database(), 1 << 20).unwrap();
    let mut snapshot = tempfile::tempfile().unwrap();
    let summary = store.snapshot(&mut snapshot).unwrap();
    snapshot.flush().unwrap();
    drop(store);
    let out = tmp.path().join("node.backup");
    let keys = with_keys.then(passphrase);
    let pre = PreSnapshot::capture(&dir).unwrap();
    let written = write_backup(
        &dir,
        &out,
        pre,
        &mut snapshot,
        summary,
        keys.as_ref(),
        "test-user",
    )
    .unwrap();
    logged_backup(&dir, &written, with_keys);
    (tmp, dir, out)
}

/// The node's audit log holds one `backup.create` entry for `written`, with
/// what the operations guide promises: size, digest, keys included or not.
fn logged_backup(dir: &NodeDir, written: &BackupSummary, with_keys: bool) {
    let filter = liaison_store::audit::query::Filter {
        action: Some("backup.create".into()),
        ..Default::default()
    };
    let entries = liaison_store::audit::query::select(&dir.audit_log(), &filter).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let detail = &entries[0].detail;
    assert_eq!(detail["bytes"], written.bytes, "{detail}");
    assert_eq!(detail["sha256"], written.file_sha256.as_str(), "{detail}");
    assert_eq!(detail["includes_keys"], with_keys, "{detail}");
    assert_eq!(detail["os_user"], "test-user", "{detail}");
    assert!(detail["file"].as_str().unwrap().ends_with("node.backup"));
    // The digest is the file's own, as `sha256sum` would print it.
    let file = std::fs::read(detail["file"].as_str().unwrap()).unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file)),
        written.file_sha256
    );
}

fn node_id(dir: &NodeDir) -> liaison_core::record::NodeId {
    dir.load_identity(&dir.load_config().unwrap())
        .unwrap()
        .node_id()
}

#[test]
fn an_expected_node_is_a_node_id_or_a_fingerprint() {
    let id = "ab".repeat(32);
    assert!(matches!(id.parse(), Ok(ExpectedNode::NodeId(_))));
    assert_eq!(
        "12345 67890 12345 67890 12345".parse::<ExpectedNode>(),
        Ok(ExpectedNode::Fingerprint(
            "12345 67890 12345 67890 12345".into()
        ))
    );
    assert_eq!(
        "1234567890123456789012345".parse::<ExpectedNode>(),
        Ok(ExpectedNode::Fingerprint(
            "12345 67890 12345 67890 12345".into()
        ))
    );
    assert!("1234".parse::<ExpectedNode>().is_err());
}

#[test]
fn a_backup_with_keys_restores_a_complete_node() {
    let (tmp, dir, out) = node_and_backup(true);
    let target = tmp.path().join("restored");
    let report = restore(&out, &target, Some(&passphrase()), None).unwrap();
    assert!(report.manifest.includes_keys);
    assert!(report.keys_missing.is_empty(), "{:?}", report.keys_missing);
    let restored = NodeDir::new(&target);
    assert_eq!(
        std::fs::read_to_string(restored.heads_file()).unwrap(),
        HEADS_JSON
    );
    let config = restored.load_config().unwrap();
    let original = dir.load_identity(&dir.load_config().unwrap()).unwrap();
    let identity = restored.load_identity(&config).unwrap();
    assert_eq!(identity.node_id(), original.node_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in &KEY_FILES[..4] {
            let mode = std::fs::metadata(target.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
    // A wrong passphrase restores nothing.
    let wrong = age::secrecy::SecretString::from("not the passphrase at all".to_string());
    let error = restore(&out, &tmp.path().join("again"), Some(&wrong), None).unwrap_err();
    assert!(matches!(error, BackupError::Passphrase(_)), "{error}");
    assert!(!tmp.path().join("again").exists());
}

#[test]
fn a_backup_without_keys_names_the_files_to_copy() {
    let (tmp, dir, out) = node_and_backup(false);
    // Nothing inside vouches for its origin: the operator must name the node.
    let error = restore(&out, &tmp.path().join("restored"), None, None).unwrap_err();
    assert!(error.to_string().contains("--expect-node"), "{error}");
    assert!(!tmp.path().join("restored").exists());
    let expect = ExpectedNode::NodeId(node_id(&dir));
    let report = restore(&out, &tmp.path().join("restored"), None, Some(&expect)).unwrap();
    assert_eq!(report.keys_missing, &KEY_FILES[..4]);
    assert!(tmp.path().join("restored/config.toml").exists());
    // The folders the operator is told to copy the keys into are there,
    // owner only, as `init` makes them.
    let restored = NodeDir::new(tmp.path().join("restored"));
    for folder in liaison_identity::identity::KEY_FOLDERS {
        let path = restored.root.join(folder);
        assert!(path.is_dir(), "{folder}/ is created");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{folder}/");
        }
    }
    // Copying the named files in, as printed, completes the node.
    for name in report.keys_missing {
        let bytes = std::fs::read(dir.root.join(name)).unwrap();
        liaison_identity::identity::write_private(&restored.root.join(name), &bytes).unwrap();
    }
    let config = restored.load_config().unwrap();
    assert_eq!(
        restored.load_identity(&config).unwrap().node_id(),
        node_id(&dir)
    );
}

#[test]
fn a_damaged_or_truncated_backup_is_refused_and_leaves_nothing() {
    let (tmp, _dir, out) = node_and_backup(false);
    let bytes = std::fs::read(&out).unwrap();
    let cases = [
        ("flipped", {
            let mut b = bytes.clone();
            let middle = b.len() / 2;
            b[middle] ^= 0x40;
            b
        }),
        ("truncated", bytes[..bytes.len() - 100].to_vec()),
        ("no checksum", bytes[..bytes.len() - 47].to_vec()),
    ];
    for (what, damaged) in cases {
        let path = tmp.path().join(what);
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(&damaged).unwrap();
        file.rewind().unwrap();
        let target = tmp
            .path()
            .join(format!("restored-{}", what.replace(' ', "-")));
        let expect = ExpectedNode::NodeId(node_id(&_dir));
        let error = restore(&path, &target, None, Some(&expect)).unwrap_err();
        assert!(matches!(error, BackupError::Corrupt(_)), "{what}: {error}");
        assert!(!target.exists(), "{what}: nothing is left behind");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("restoring"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: staging directory removed");
    }
    // An existing, non-empty directory is never restored into.
    let error = restore(&out, tmp.path(), None, None).unwrap_err();
    assert!(error.to_string().starts_with("--dir:"), "{error}");
}
