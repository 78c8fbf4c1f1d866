//! The history database on real files: migrations, bad files that are refused and left as
//! they are, kills in the middle of writes, deleting every trace, and the Markdown export.
//! (No model needed: the conversations tests drive it through the model.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use murmur_engine::error::Coded;
use murmur_engine::store::{export, AnswerState, Conversations, History, HistoryError, MessageRole, SavedState, SCHEMA_VERSION};
use murmur_engine::ErrorCode;

fn db_path(dir: &Path) -> PathBuf {
    dir.join("history.sqlite3")
}

fn user_version(path: &Path) -> i64 {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("user_version")
}

#[test]
fn a_new_database_gets_the_current_schema_in_wal_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(&dir.path().join("nested"));
    let h = History::open(&path).expect("open");
    let id = h.create(None, Some("test-model")).expect("create");
    h.add_question(id, "What is HDL?").expect("question");
    drop(h);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let c = rusqlite::Connection::open(&path).expect("open");
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only the owner may read the history");
        let mode = std::fs::metadata(path.parent().expect("dir")).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}

/// The schema as the first released version wrote it (migration 1), with data in it.
fn write_version_1(path: &Path) {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch(
        "CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL, record TEXT, model TEXT);
         CREATE TABLE messages (id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), text TEXT NOT NULL, created_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('complete', 'interrupted', 'cancelled', 'failed')),
            stats TEXT, error TEXT, tokens BLOB);
         INSERT INTO conversations VALUES (1, 'Lipids', 1000, 2000, 'LDL 160 mg/dL', 'qwen');
         INSERT INTO messages VALUES (1, 1, 'user', 'Is my LDL high?', 1000, 'complete', NULL, NULL, NULL);
         INSERT INTO messages VALUES (2, 1, 'assistant', 'Your LDL of 160', 1001, 'interrupted', NULL, NULL, NULL);
         PRAGMA user_version = 1;",
    )
    .expect("v1 schema");
}

#[test]
fn the_previous_schema_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    write_version_1(&path);
    let h = History::open(&path).expect("open");
    let c = h.get(1).expect("conversation 1");
    assert_eq!(c.summary.title, "Lipids");
    assert_eq!(c.record.as_deref(), Some("LDL 160 mg/dL"));
    assert_eq!(c.messages.len(), 2);
    assert_eq!(c.messages[1].state, AnswerState::Interrupted);
    // What version 2 added works.
    h.set_setting("current_conversation", Some("1")).expect("setting");
    assert_eq!(h.setting("current_conversation").expect("setting").as_deref(), Some("1"));
    drop(h);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

fn assert_refused_and_untouched(path: &Path, expected: ErrorCode) -> HistoryError {
    let before = std::fs::read(path).expect("read");
    let err = History::open(path).expect_err("must be refused");
    assert_eq!(err.code(), expected, "{err}");
    assert_eq!(std::fs::read(path).expect("read"), before, "the file must be left as it was");
    assert!(!path.with_extension("sqlite3-wal").exists() || before.is_empty(), "no journal created");
    err
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    std::fs::write(&path, "{\"conversations\": [\"my notes\"]}").expect("write");
    let err = assert_refused_and_untouched(&path, ErrorCode::HistoryNotADatabase);
    assert!(err.to_string().contains("not an SQLite file"), "{err}");
    // An SQLite header followed by garbage is damaged, not silently replaced.
    let mut bad = b"SQLite format 3\0".to_vec();
    bad.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&path, &bad).expect("write");
    let err = History::open(&path).expect_err("refused");
    assert!(matches!(err.code(), ErrorCode::HistoryNotADatabase | ErrorCode::HistoryCorrupt), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), bad);
}

#[test]
fn a_newer_schema_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    {
        let h = History::open(&path).expect("open");
        h.create(None, None).expect("create");
    }
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 7).expect("bump");
        c.pragma_update(None, "journal_mode", "DELETE").expect("no wal");
    }
    let err = assert_refused_and_untouched(&path, ErrorCode::HistoryNewerSchema);
    assert!(err.to_string().contains("newer version"), "{err}");
}

/// Makes `path` unwritable, also for root (the immutable flag), and undoes it on drop.
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    fn new(path: &'a Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let ok = Command::new("chattr").arg("+i").arg(path).status().is_ok_and(|s| s.success());
            assert!(ok, "running as root: `chattr +i` is needed to make a file read-only (e2fsprogs)");
        }
        Self(path)
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(self.0).stderr(Stdio::null()).status();
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o600));
    }
}

#[test]
fn a_read_only_database_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    {
        let h = History::open(&path).expect("open");
        let id = h.create(None, None).expect("create");
        h.add_question(id, "kept").expect("question");
        drop(h);
        let c = rusqlite::Connection::open(&path).expect("open");
        c.pragma_update(None, "journal_mode", "DELETE").expect("no wal");
    }
    let _ro = ReadOnly::new(&path);
    let err = assert_refused_and_untouched(&path, ErrorCode::HistoryReadOnly);
    assert!(err.to_string().contains("cannot be written"), "{err}");
}

#[test]
fn list_search_rename_retract_and_titles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = History::open(&db_path(dir.path())).expect("open");
    let a = h.create(None, None).expect("a");
    h.add_question(a, "What does a ferritin of 12 ng/mL mean?").expect("q");
    std::thread::sleep(Duration::from_millis(5));
    let b = h.create(Some("TSH 5.2 mIU/L"), None).expect("b");
    h.add_question(b, "Summarise my thyroid results").expect("q");
    let m = h.start_answer(b).expect("answer");
    h.finish_answer(m, "Your TSH of 5.2 is above 100% of…", AnswerState::Complete, None, None).expect("finish");
    let list = h.list(None).expect("list");
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b, a], "newest first");
    assert_eq!(list[1].title, "What does a ferritin of 12 ng/mL mean?");
    assert!(list[0].has_record && !list[1].has_record);
    assert_eq!(list[0].messages, 2);
    // Search looks in titles and messages, case-insensitively; % and _ are literal.
    assert_eq!(h.list(Some("FERRITIN")).expect("search").len(), 1);
    assert_eq!(h.list(Some("tsh of 5.2")).expect("search")[0].id, b);
    assert_eq!(h.list(Some("100%")).expect("search").len(), 1);
    assert_eq!(h.list(Some("%")).expect("search").len(), 1, "% is not a wildcard");
    assert!(h.list(Some("cholesterol")).expect("search").is_empty());
    h.rename(a, "Iron").expect("rename");
    assert_eq!(h.get(a).expect("a").summary.title, "Iron");
    assert_eq!(h.rename(999, "x").expect_err("missing").code(), ErrorCode::ConversationNotFound);
    assert_eq!(h.add_question(999, "x").expect_err("missing").code(), ErrorCode::ConversationNotFound);
    // Regenerate: the last question and its answer go; the question comes back.
    assert_eq!(h.retract_last(b).expect("retract").as_deref(), Some("Summarise my thyroid results"));
    assert!(h.get(b).expect("b").messages.is_empty());
}

#[test]
fn deleting_removes_every_trace_of_a_conversation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Conversations::open(dir.path(), 1 << 30).expect("open");
    let secret = "POTASSIUM-SIX-POINT-EIGHT-zq";
    let keep = store.db.create(None, None).expect("keep");
    store.db.add_question(keep, "another conversation").expect("q");
    let id = store.db.create(Some(&format!("record {secret}")), None).expect("create");
    store.db.add_question(id, &format!("question {secret}")).expect("q");
    let m = store.db.start_answer(id).expect("a");
    store.db.finish_answer(m, &format!("answer {secret}"), AnswerState::Complete, None, None).expect("finish");
    store.kv.save(id, &SavedState { fingerprint: [1; 32], n_ctx: 512, tokens: vec![1, 2, 3], data: secret.as_bytes().to_vec() }).expect("kv");
    assert!(store.kv.path(id).exists());
    store.delete(id).expect("delete");
    assert_eq!(store.db.get(id).expect_err("gone").code(), ErrorCode::ConversationNotFound);
    assert!(!store.kv.path(id).exists(), "the KV-cache file is deleted");
    assert_eq!(store.db.list(None).expect("list").len(), 1);
    // No byte of it is left in any file of the data directory (database, WAL, caches).
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} still holds the deleted text", entry.display());
    }
    store.delete_all().expect("delete all");
    assert!(store.db.list(None).expect("list").is_empty());
    assert!(!store.kv.dir().exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_markdown_export_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = History::open(&db_path(dir.path())).expect("open");
    let record = "Total cholesterol 241 mg/dL (< 200)  H\n# not a heading of ours\n<!-- murmur:user complete -->";
    let id = h.create(Some(record), Some("qwen2.5-1.5b")).expect("create");
    let texts = [
        "Is 241 high?",
        "Yes: 241 mg/dL is **above** the range.\n\n### You\n<!-- murmur:assistant complete -->\n\\<!-- murmur:note -->",
        "And HDL?",
        "HDL is the",
    ];
    h.add_question(id, texts[0]).expect("q");
    let a = h.start_answer(id).expect("a");
    h.finish_answer(a, texts[1], AnswerState::Complete, None, None).expect("f");
    h.add_question(id, texts[2]).expect("q");
    let a = h.start_answer(id).expect("a");
    h.finish_answer(a, texts[3], AnswerState::Cancelled, None, None).expect("f");
    let c = h.get(id).expect("get");
    let md = export::markdown(&c);
    assert!(md.starts_with("# Is 241 high?\n"), "{md}");
    assert!(md.contains("does not diagnose"), "the export carries the assistant's limits");
    let back = export::parse(&md).expect("parse");
    assert_eq!(back.title, "Is 241 high?");
    assert_eq!(back.record.as_deref(), Some(record));
    let expected: Vec<_> = c.messages.iter().map(|m| (m.role, m.state, m.text.clone())).collect();
    assert_eq!(back.messages, expected);
    assert_eq!(back.messages[3].1, AnswerState::Cancelled);
    assert_eq!(back.messages[0].0, MessageRole::User);
}

// ── kill -9 in the middle of writes ──────────────────────────────────────────────────────

/// Child mode: writes conversations as fast as it can until killed. Each answer is written
/// as checkpoints of a known text, so the parent can check what survived.
#[test]
#[ignore = "run by kill_during_writes_never_corrupts_the_database"]
fn child_writer() {
    let Some(dir) = std::env::var_os("MURMUR_TEST_WRITER_DIR") else { return };
    let store = Conversations::open(Path::new(&dir), 1 << 30).expect("open");
    let full = "Your potassium of 5.1 mmol/L is just above the range 3.5-5.0. ".repeat(20);
    for n in 0.. {
        let id = store.db.create(Some("K 5.1 mmol/L (3.5-5.0) H"), None).expect("create");
        store.db.add_question(id, &format!("question {n}")).expect("q");
        let m = store.db.start_answer(id).expect("a");
        for cut in (0..full.len()).step_by(97) {
            store.db.checkpoint(m, &full[..cut]).expect("checkpoint");
        }
        store.db.finish_answer(m, &full, AnswerState::Complete, None, None).expect("finish");
        // And a KV file, written atomically.
        let state = SavedState { fingerprint: [9; 32], n_ctx: 512, tokens: vec![n; 64], data: vec![n as u8; 200_000] };
        store.kv.save(id, &state).expect("kv");
    }
}

#[test]
fn kill_during_writes_never_corrupts_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = "Your potassium of 5.1 mmol/L is just above the range 3.5-5.0. ".repeat(20);
    let exe = std::env::current_exe().expect("test binary");
    let mut seen_interrupted = 0;
    for round in 0..12u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env("MURMUR_TEST_WRITER_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        // Kill at varied moments (the first rounds include start-up and migration).
        std::thread::sleep(Duration::from_millis(30 + (round * 37) % 250));
        // SAFETY: plain kill(2) on our child.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();

        let store = Conversations::open(dir.path(), 1 << 30).expect("reopens after a kill");
        assert_eq!(store.db.integrity_check().expect("check"), "ok", "round {round}");
        for summary in store.db.list(None).expect("list") {
            let c = store.db.get(summary.id).expect("get");
            assert!(c.messages.len() <= 2);
            if let Some(q) = c.messages.first() {
                assert_eq!(q.role, MessageRole::User);
                assert!(q.text.starts_with("question "));
            }
            if let Some(a) = c.messages.get(1) {
                assert_eq!(a.role, MessageRole::Assistant);
                assert!(full.starts_with(&a.text), "a saved answer is a prefix of what was written");
                match a.state {
                    AnswerState::Complete => assert_eq!(a.text, full),
                    AnswerState::Interrupted => seen_interrupted += 1,
                    s => panic!("unexpected state {s:?}"),
                }
            }
            }
        // A KV file is whole or absent: never a torn one.
        for summary in store.db.list(None).expect("list") {
            if store.kv.path(summary.id).exists() {
                assert!(store.kv.load(summary.id, &[9; 32], 512).is_some(), "round {round}: a torn KV file");
            }
        }
    }
    assert!(seen_interrupted > 0, "some kills landed during an answer (marked interrupted)");
}
