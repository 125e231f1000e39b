//! `chatctl import django` as an operator runs it: the real binary on the
//! Django fixture, its report on stdout, the tenants and keys it left.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CHATCTL: &str = env!("CARGO_BIN_EXE_chatctl");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/django")
}

fn chatctl(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(CHATCTL)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CHAT_STORE")
        .output()
        .unwrap()
}

fn import(data_dir: &Path, extra: &[&str]) -> (String, String) {
    let dump = fixtures().join("django-dumpdata.json");
    let media = fixtures().join("django-media");
    let mut args = vec![
        "import",
        "django",
        dump.to_str().unwrap(),
        "--media-root",
        media.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = chatctl(data_dir, &args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn imports_the_django_dump_once_and_says_so_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let (dry, _) = import(&data, &["--dry-run"]);
    assert!(dry.starts_with("Dry run: nothing written"), "{dry}");
    assert!(dry.contains("sessions  24 new, 0 already there"), "{dry}");

    let (first, progress) = import(&data, &[]);
    assert!(
        first.contains("tenants   3 new, 0 already there"),
        "{first}"
    );
    assert!(
        first.contains("(1 of them revoked: inactive clients)"),
        "{first}"
    );
    assert!(
        first.contains("messages  94 new, 0 already there"),
        "{first}"
    );
    assert!(first.contains("Skipped records: 0"), "{first}");
    assert!(progress.contains("import finished"), "{progress}");

    let (second, _) = import(&data, &[]);
    assert!(
        second.contains("messages  0 new, 94 already there"),
        "{second}"
    );
    assert!(
        second.contains("Nothing new: everything in the dump was already imported."),
        "{second}"
    );

    let tenants = String::from_utf8(chatctl(&data, &["tenant", "list"]).stdout).unwrap();
    assert!(tenants.contains("4e0f6698-ecf5-42a5-a31e-2e506208e61a\tKettle Shop"));
    let keys = chatctl(
        &data,
        &[
            "key",
            "list",
            "--tenant",
            "df5963fb-6dd8-4cfa-b13b-5d901e0414c3",
        ],
    );
    let keys = String::from_utf8(keys.stdout).unwrap();
    assert!(keys.contains("cb__e0Hbc…\tsecret\trevoked"), "{keys}");
}

#[test]
fn a_file_that_is_not_a_dump_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dump = dir.path().join("x.json");
    std::fs::write(&not_a_dump, "{\"model\": 1}").unwrap();
    let out = chatctl(
        &dir.path().join("data"),
        &["import", "django", not_a_dump.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("not a dumpdata file"), "{stderr}");
}
