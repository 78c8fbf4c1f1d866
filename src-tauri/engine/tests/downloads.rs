//! Model downloads against a real HTTP server on 127.0.0.1, with injected faults; imports.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::TestServer;
use murmur_engine::models::{
    import, sha256_file, Catalog, CatalogEntry, DownloadError, DownloadOptions, DownloadProgress, DownloadState, Downloader, HostPolicy, ImportError,
    ImportMode, Installed, ModelStore, Role,
};
use murmur_engine::{llm::LlmError, CancelToken};
use sha2::{Digest, Sha256};

const SIZE: usize = 24 << 20;

fn blob() -> Arc<Vec<u8>> {
    // Deterministic, incompressible-looking bytes.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    Arc::new((0..SIZE).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }).collect())
}

fn server() -> TestServer {
    TestServer::start(vec![("blob.bin", blob())])
}

fn entry(server: &TestServer, path_and_query: &str) -> CatalogEntry {
    let body = server.file("blob.bin");
    CatalogEntry {
        id: "test-blob".into(),
        role: Role::Llm,
        name: "test".into(),
        url: server.url(path_and_query),
        file: "blob.bin".into(),
        bytes: body.len() as u64,
        sha256: hex::encode(Sha256::digest(body.as_slice())),
        license: "MIT".into(),
        ram_mb: 1,
        description: String::new(),
        default: false,
        verified: true,
    }
}

fn fast() -> DownloadOptions {
    DownloadOptions { backoff_initial: Duration::from_millis(50), backoff_max: Duration::from_millis(200), disk_margin: 0, ..DownloadOptions::default() }
}

fn run(entry: &CatalogEntry, store: &ModelStore, cancel: &CancelToken) -> (Result<std::path::PathBuf, DownloadError>, Vec<DownloadProgress>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let downloader = Downloader::new(fast()).expect("client");
    let mut events = Vec::new();
    let r = rt.block_on(downloader.download(entry, store, cancel, &mut |p: &DownloadProgress| events.push(p.clone())));
    (r, events)
}

fn assert_installed(store: &ModelStore, entry: &CatalogEntry) {
    let path = store.path(entry);
    assert_eq!(sha256_file(&path).expect("hash"), entry.sha256);
    assert!(!store.part_path(entry).exists() && !store.sidecar_path(entry).exists(), "leftovers");
    assert_eq!(store.state(entry), Installed::Ready { path });
}

#[test]
fn clean_download_with_throttled_progress() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, "/blob.bin?rate=16000000");
    let start = Instant::now();
    let (r, events) = run(&e, &store, &CancelToken::new());
    let secs = start.elapsed().as_secs_f64();
    r.expect("download");
    assert_installed(&store, &e);
    let states: Vec<_> = events.iter().map(|p| std::mem::discriminant(&p.state)).collect();
    assert_eq!(states.first(), Some(&std::mem::discriminant(&DownloadState::Queued)));
    assert!(events.iter().any(|p| p.state == DownloadState::Verifying));
    assert!(matches!(events.last().map(|p| &p.state), Some(DownloadState::Done { .. })));
    let updates = events.iter().filter(|p| p.state == DownloadState::Downloading).count();
    assert!(updates as f64 <= secs * 5.0 + 3.0, "{updates} progress events in {secs:.1} s");
    assert!(updates >= 3, "only {updates} progress events in {secs:.1} s");
    assert!(events.iter().any(|p| p.speed_bps > 1e6 && p.eta_secs.is_some()));
    // Running it again finds the model and does nothing.
    let (r, _) = run(&e, &store, &CancelToken::new());
    r.expect("already there");
    assert_eq!(s.requests("/blob.bin").len(), 1);
}

#[test]
fn a_dropped_connection_resumes_with_a_range_request() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, &format!("/blob.bin?drop_at={}", SIZE * 2 / 5));
    let (r, _) = run(&e, &store, &CancelToken::new());
    r.expect("download");
    assert_installed(&store, &e);
    let reqs = s.requests("/blob.bin");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[1].range_start, Some((SIZE * 2 / 5) as u64));
    assert_eq!(reqs[1].status, 206);
}

#[test]
fn a_truncated_body_is_completed_not_accepted() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, &format!("/blob.bin?truncate_at={}", SIZE - 1000));
    let (r, _) = run(&e, &store, &CancelToken::new());
    r.expect("download");
    assert_installed(&store, &e);
    assert_eq!(s.requests("/blob.bin")[1].range_start, Some((SIZE - 1000) as u64));
}

#[test]
fn a_200_answer_to_a_range_request_restarts_from_zero() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, &format!("/blob.bin?ignore_range&drop_at={}", SIZE / 3));
    let (r, _) = run(&e, &store, &CancelToken::new());
    r.expect("download");
    assert_installed(&store, &e);
    let reqs = s.requests("/blob.bin");
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].range_start.is_some() && reqs[1].status == 200, "{reqs:?}");
}

#[test]
fn wrong_bytes_are_deleted_and_reported() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, "/blob.bin?corrupt");
    let (r, events) = run(&e, &store, &CancelToken::new());
    match r {
        Err(DownloadError::HashMismatch { expected, actual }) => assert!(expected == e.sha256 && actual != e.sha256),
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    assert!(matches!(events.last().map(|p| &p.state), Some(DownloadState::Failed { .. })));
    assert!(!store.path(&e).exists() && !store.part_path(&e).exists() && !store.sidecar_path(&e).exists());
    assert_eq!(store.state(&e), Installed::Missing);
}

#[test]
fn a_slow_download_cancels_promptly_and_resumes_later() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, "/blob.bin?rate=2000000");
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        c.cancel();
        Instant::now()
    });
    let (r, events) = run(&e, &store, &cancel);
    let ended = Instant::now();
    let cancelled_at = t.join().expect("thread");
    assert!(matches!(r, Err(DownloadError::Cancelled)), "{r:?}");
    // Promptly: within a couple of polls, with room for a loaded machine.
    assert!(ended.duration_since(cancelled_at) < Duration::from_secs(2), "slow to stop");
    assert_eq!(events.last().map(|p| &p.state), Some(&DownloadState::Cancelled));
    let Installed::Partial { bytes } = store.state(&e) else { panic!("the part file must stay") };
    assert!(bytes > 0 && (bytes as usize) < SIZE);
    // Later (here: the second request, not throttled) it resumes from there.
    let (r, events) = run(&e, &store, &CancelToken::new());
    r.expect("resumed");
    assert!(events.iter().any(|p| p.state == DownloadState::Checking));
    assert_eq!(s.requests("/blob.bin")[1].range_start, Some(bytes));
    assert_installed(&store, &e);
}

#[test]
fn not_found_fails_at_once_and_unavailable_is_retried() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let mut e = entry(&s, "/missing");
    match run(&e, &store, &CancelToken::new()).0 {
        Err(DownloadError::Http { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    assert_eq!(s.requests("/missing").len(), 1, "a 404 is not retried");
    e.url = s.url("/blob.bin?fail=2");
    run(&e, &store, &CancelToken::new()).0.expect("503, 503, then OK");
    let statuses: Vec<u16> = s.requests("/blob.bin").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    assert_installed(&store, &e);
}

#[test]
fn redirects_are_followed_and_insecure_urls_refused() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let mut e = entry(&s, "/redirect/blob.bin");
    run(&e, &store, &CancelToken::new()).0.expect("redirected download");
    assert_installed(&store, &e);
    store.remove(&e).expect("remove");
    e.url = "http://example.com/blob.bin".into();
    assert!(matches!(run(&e, &store, &CancelToken::new()).0, Err(DownloadError::Insecure(_))));
}

/// The app's policy: only the catalog's hosts, for the first request and every redirect.
#[test]
fn only_the_catalogs_hosts_are_contacted_even_through_redirects() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let port = s.url("").rsplit(':').next().expect("port").to_string();
    let catalog = Catalog { version: 1, note: String::new(), redirect_hosts: vec![], models: vec![entry(&s, "/blob.bin")] };
    let policy = HostPolicy { loopback_http: true, ..HostPolicy::catalog(&catalog) };
    assert_eq!(policy.https_hosts, Some(vec!["127.0.0.1".to_string()]));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let d = Downloader::new(DownloadOptions { hosts: policy.clone(), ..fast() }).expect("client");
    let get = |e: &CatalogEntry| rt.block_on(d.download(e, &store, &CancelToken::new(), &mut |_: &DownloadProgress| {}));

    // The catalog's own host, also through a redirect to itself: fine.
    let e = entry(&s, "/redirect/blob.bin");
    get(&e).expect("allowed host");
    store.remove(&e).expect("remove");

    // The same server under another name (localhost) is not on the list: refused before any
    // request, and a redirect there is not followed.
    let mut other = entry(&s, "/blob.bin");
    other.url = format!("http://localhost:{port}/blob.bin");
    let before = s.requests("/blob.bin").len();
    assert!(matches!(get(&other), Err(DownloadError::HostNotAllowed { ref host }) if host == "localhost"));
    assert_eq!(s.requests("/blob.bin").len(), before, "a refused host was contacted");
    let e = entry(&s, &format!("/redirect/blob.bin?to=localhost:{port}"));
    let err = get(&e).expect_err("a redirect off the list must fail");
    assert!(matches!(err, DownloadError::HostNotAllowed { ref host } if host == "localhost"), "{err}");
    assert_eq!(s.requests("/blob.bin").len(), before, "the redirect was followed");
    assert!(!store.path(&e).exists());

    // Plain http only where loopback is allowed (test builds): the app's release policy.
    let strict = Downloader::new(DownloadOptions { hosts: HostPolicy::catalog(&catalog), ..fast() }).expect("client");
    let r = rt.block_on(strict.download(&entry(&s, "/blob.bin"), &store, &CancelToken::new(), &mut |_: &DownloadProgress| {}));
    assert!(matches!(r, Err(DownloadError::Insecure(_))), "{r:?}");
}

#[test]
fn a_server_that_cuts_every_answer_and_ignores_ranges_gives_up() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, "/blob.bin?ignore_range&truncate_every=1000000");
    let (r, _) = run(&e, &store, &CancelToken::new());
    assert!(matches!(r, Err(DownloadError::Network { .. })), "{r:?}");
    // Bounded: the default attempts, each restarting from zero, then a clear error.
    let n = s.requests("/blob.bin").len();
    assert!(n <= DownloadOptions::default().max_attempts as usize + 1, "{n} requests");
    assert!(!store.path(&e).exists());
}

#[test]
fn two_downloads_of_one_model_never_share_a_part_file() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let e = entry(&s, "/blob.bin?rate=20000000");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let d = Downloader::new(fast()).expect("client");
    let cancel = CancelToken::new();
    let (mut quiet_a, mut quiet_b) = (|_: &DownloadProgress| {}, |_: &DownloadProgress| {});
    let (a, b) = rt.block_on(async { tokio::join!(d.download(&e, &store, &cancel, &mut quiet_a), d.download(&e, &store, &cancel, &mut quiet_b)) });
    let (ok, busy) = if a.is_ok() { (a, b) } else { (b, a) };
    ok.expect("one download completes");
    assert!(matches!(busy, Err(DownloadError::InProgress { .. })), "{busy:?}");
    assert_installed(&store, &e);
    // Once it is done, asking again finds the model.
    run(&e, &store, &CancelToken::new()).0.expect("already installed");
}

#[test]
fn a_url_that_does_not_parse_is_not_called_insecure() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let mut e = entry(&s, "/blob.bin");
    e.url = "https://exa mple.com/model.gguf".into();
    let (r, events) = run(&e, &store, &CancelToken::new());
    match r {
        Err(err @ DownloadError::BadUrl { .. }) => assert!(err.to_string().contains("not a valid URL"), "{err}"),
        other => panic!("expected BadUrl, got {other:?}"),
    }
    match events.last().map(|p| &p.state) {
        Some(DownloadState::Failed { error }) => assert_eq!(error.code, murmur_engine::ErrorCode::DownloadBadUrl),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_language_and_a_speech_model_download_together() {
    let other = Arc::new(blob().iter().rev().copied().collect::<Vec<u8>>());
    let s = TestServer::start(vec![("blob.bin", blob()), ("speech.bin", other.clone())]);
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path());
    let llm = entry(&s, "/blob.bin?rate=30000000");
    let asr = CatalogEntry {
        id: "test-speech".into(),
        role: Role::Asr,
        url: s.url("/speech.bin?rate=30000000"),
        file: "speech.bin".into(),
        sha256: hex::encode(Sha256::digest(other.as_slice())),
        ..llm.clone()
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let d = Downloader::new(fast()).expect("client");
    let cancel = CancelToken::new();
    // Each is throttled: they overlap when each moves bytes before the other is done (an
    // ordering check, not a timing one, so a loaded machine cannot break it).
    let log = std::sync::Mutex::new(Vec::<(String, u64, bool)>::new());
    let note = |p: &DownloadProgress| {
        if let Ok(mut l) = log.lock() {
            l.push((p.id.clone(), p.bytes_done, matches!(p.state, DownloadState::Done { .. })));
        }
    };
    let (mut on_a, mut on_b) = (note, note);
    let (a, b) = rt.block_on(async { tokio::join!(d.download(&llm, &store, &cancel, &mut on_a), d.download(&asr, &store, &cancel, &mut on_b)) });
    a.expect("llm");
    b.expect("asr");
    let log = log.into_inner().expect("log");
    let first_done = log.iter().position(|e| e.2).expect("a download finished");
    let other = if log[first_done].0 == llm.id { &asr.id } else { &llm.id };
    assert!(
        log[..first_done].iter().any(|e| &e.0 == other && e.1 > 0 && e.1 < SIZE as u64 / 2),
        "the downloads ran one after the other, not together"
    );
    assert_installed(&store, &llm);
    assert_installed(&store, &asr);
}

fn write_catalog(dir: &Path, e: &CatalogEntry) -> std::path::PathBuf {
    let c = Catalog { version: 1, note: String::new(), redirect_hosts: vec![], models: vec![e.clone()] };
    let p = dir.join("catalog.json");
    std::fs::write(&p, serde_json::to_string(&c).expect("json")).expect("write");
    p
}

#[test]
fn a_killed_download_process_resumes() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let models = dir.path().join("models");
    let e = entry(&s, "/blob.bin?rate=4000000");
    let catalog = write_catalog(dir.path(), &e);
    let cli = || {
        let mut c = std::process::Command::new(common::murmur_bin());
        c.args(["models", "download", "test-blob"]).env("MURMUR_CATALOG", &catalog).env("MURMUR_MODELS_DIR", &models);
        c
    };
    let mut child = cli().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().expect("spawn");
    let store = ModelStore::new(&models);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Installed::Partial { bytes } = store.state(&e) {
            if bytes as usize >= SIZE * 2 / 5 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the download never reached 40%");
        std::thread::sleep(Duration::from_millis(20));
    }
    // kill -9: no chance to clean up.
    child.kill().expect("kill");
    let _ = child.wait();
    let Installed::Partial { bytes } = store.state(&e) else { panic!("part file missing after kill") };
    let out = cli().output().expect("rerun");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_installed(&store, &e);
    let reqs = s.requests("/blob.bin");
    assert!(reqs[1].range_start.is_some_and(|r| r > 0 && r >= bytes.saturating_sub(4 << 20)), "{reqs:?} after {bytes}");
}

#[test]
fn not_enough_disk_is_refused_before_writing() {
    let s = server();
    let dir = tempfile::tempdir().expect("tmp");
    let models = dir.path().join("small-disk");
    std::fs::create_dir_all(&models).expect("mkdir");
    let e = entry(&s, "/blob.bin");
    let catalog = write_catalog(dir.path(), &e);
    // An 8 MB tmpfs for a 24 MB model, in a private mount namespace (no root needed).
    if let Err(why) = common::user_namespaces() {
        return common::skip("not_enough_disk_is_refused_before_writing", &why);
    }
    let script = format!(
        "mount -t tmpfs -o size=8m tmpfs '{m}' && exec '{bin}' models download test-blob",
        m = models.display(),
        bin = common::murmur_bin().display()
    );
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("MURMUR_CATALOG", &catalog)
        .env("MURMUR_MODELS_DIR", &models)
        .output()
        .expect("unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not enough free space"), "{stderr}");
    assert!(s.requests("/blob.bin").is_empty(), "nothing should be requested");
}

#[test]
fn imports_are_validated_before_they_are_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = ModelStore::new(dir.path().join("models"));
    let catalog = Catalog::embedded();
    // A real GGUF, referenced where it is.
    let ok = import(&store, &catalog, &common::llm_path(), ImportMode::Reference, Some("my-qwen")).expect("valid gguf");
    assert_eq!(ok.role, Role::Llm);
    assert!(ok.summary.contains("qwen2") && ok.summary.contains("file type 15"), "{}", ok.summary);
    // A real Whisper model, copied.
    let w = import(&store, &catalog, &common::whisper_path(), ImportMode::Copy, None).expect("valid whisper");
    assert_eq!(w.role, Role::Asr);
    assert!(w.path.starts_with(store.dir()) && w.path.is_file());
    assert_eq!(sha256_file(&w.path).expect("hash"), sha256_file(&common::whisper_path()).expect("hash"));
    // A text file renamed .gguf.
    let fake = dir.path().join("notes.gguf");
    std::fs::write(&fake, "just some notes").expect("write");
    assert!(matches!(import(&store, &catalog, &fake, ImportMode::Copy, None), Err(ImportError::NotAModel(_))));
    // A truncated GGUF.
    let cut = dir.path().join("cut.gguf");
    let mut src = std::fs::File::open(common::llm_path()).expect("open");
    let mut dst = std::fs::File::create(&cut).expect("create");
    std::io::copy(&mut std::io::Read::take(&mut src, 50 << 20), &mut dst).expect("copy");
    assert!(matches!(import(&store, &catalog, &cut, ImportMode::Copy, None), Err(ImportError::Llm(LlmError::Truncated { .. }))));
    assert!(!store.dir().join("cut.gguf").exists(), "a rejected file is not stored");
    // Claiming to be a catalog model it is not.
    assert!(matches!(
        import(&store, &catalog, &common::llm_path(), ImportMode::Reference, Some("qwen2.5-0.5b-instruct-q4_k_m")),
        Err(ImportError::NotTheCatalogModel { .. })
    ));
}

#[test]
fn an_import_outside_the_catalog_is_listed_found_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("tmp");
    let models = dir.path().join("models");
    let store = ModelStore::new(&models);
    let catalog = Catalog::embedded();
    assert!(store.choose(&catalog, Role::Llm).is_err(), "nothing installed yet");
    let imported = import(&store, &catalog, &common::llm_path(), ImportMode::Copy, Some("my-model")).expect("import");
    // Listed, and chosen for its role.
    let listed = store.imported(&catalog);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].id.as_str(), listed[0].role, listed[0].present), ("my-model", Role::Llm, true));
    assert_eq!(store.choose(&catalog, Role::Llm).expect("chosen").path, imported.path);
    assert!(store.choose(&catalog, Role::Asr).is_err());
    // The CLI lists it and answers with it.
    let cli = |args: &[&str]| {
        std::process::Command::new(common::murmur_bin())
            .args(args)
            .env("MURMUR_MODELS_DIR", &models)
            .env_remove("MURMUR_MODEL")
            .env("MURMUR_THREADS", common::threads().to_string())
            .output()
            .expect("murmur")
    };
    let list = cli(&["models", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("my-model"), "{}", String::from_utf8_lossy(&list.stdout));
    let ask = cli(&["ask", "Say hello.", "--greedy", "--max-tokens", "4"]);
    assert!(ask.status.success(), "{}", String::from_utf8_lossy(&ask.stderr));
    // A second copy of a file with the same name never overwrites the first.
    let before = sha256_file(&imported.path).expect("hash");
    let other = dir.path().join(common::llm_path().file_name().expect("name"));
    std::fs::write(&other, b"GGUF but not really").expect("write");
    let again = import(&store, &catalog, &common::whisper_path(), ImportMode::Copy, Some("my-model"));
    assert!(matches!(again, Err(ImportError::Exists { .. })), "same id: {again:?}");
    std::fs::copy(common::llm_path(), &other).expect("copy");
    let again = import(&store, &catalog, &other, ImportMode::Copy, Some("another-id"));
    assert!(matches!(again, Err(ImportError::Exists { .. })), "same file name: {again:?}");
    assert_eq!(sha256_file(&imported.path).expect("hash"), before);
    assert_eq!(store.imported(&catalog).len(), 1);
    // Removing it removes the copy and the record.
    assert!(store.remove_imported("my-model").expect("remove"));
    assert!(!imported.path.exists() && store.imported(&catalog).is_empty());
}

/// Throughput on loopback against plain curl of the same file, 3 runs each, interleaved.
/// A measurement, not a pass/fail test: `cargo test --test downloads -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_compared_with_curl() {
    let model = Arc::new(std::fs::read(common::llm_path()).expect("read the test model"));
    let len = model.len() as f64;
    let s = TestServer::start(vec![("model.gguf", model.clone())]);
    let e = CatalogEntry {
        id: "test-model".into(),
        role: Role::Llm,
        name: "test".into(),
        url: s.url("/model.gguf"),
        file: "model.gguf".into(),
        bytes: model.len() as u64,
        sha256: sha256_file(&common::llm_path()).expect("hash"),
        license: "Apache-2.0".into(),
        ram_mb: 1,
        description: String::new(),
        default: false,
        verified: true,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ours, mut curl, mut curl_sync) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let store = ModelStore::new(dir.path().join("m"));
        let t = Instant::now();
        run(&e, &store, &CancelToken::new()).0.expect("download");
        ours.push(len / t.elapsed().as_secs_f64() / 1e6);
        store.remove(&e).expect("remove");

        let out = dir.path().join("curl.bin");
        let t = Instant::now();
        let status = std::process::Command::new("curl").args(["-s", "-o"]).arg(&out).arg(&e.url).status().expect("curl");
        assert!(status.success());
        curl.push(len / t.elapsed().as_secs_f64() / 1e6);
        std::fs::remove_file(&out).expect("rm");

        // curl plus the fsync that a download which must survive a crash needs.
        let t = Instant::now();
        let status = std::process::Command::new("sh").arg("-c").arg(format!("curl -s -o '{0}' '{1}' && sync '{0}'", out.display(), e.url)).status().expect("curl");
        assert!(status.success());
        curl_sync.push(len / t.elapsed().as_secs_f64() / 1e6);
        std::fs::remove_file(&out).expect("rm");
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let (o, c, cs) = (median(&mut ours), median(&mut curl), median(&mut curl_sync));
    println!(
        "loopback download of {:.0} MB: murmur {o:.0} MB/s (SHA-256 + fsync included), curl {c:.0} MB/s (ratio {:.2}), curl + fsync {cs:.0} MB/s (ratio {:.2})",
        len / 1e6,
        o / c,
        o / cs
    );
    println!("runs: murmur {ours:?}, curl {curl:?}, curl + fsync {curl_sync:?}");
}
