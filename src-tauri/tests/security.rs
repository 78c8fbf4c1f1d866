//! Least privilege, checked: every app command has a permission granted in capabilities/, no
//! capability grants what the app does not use (shell, opener, network from the web view), the
//! capabilities are split by platform, and the CSP is strict.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

include!("../src/commands/list.rs");

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("json")
}

fn capabilities() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities");
    let mut v: Vec<_> = std::fs::read_dir(&dir).expect("capabilities/").filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    v.sort();
    v.iter().map(|p| read_json(p)).collect()
}

fn permission_ids(cap: &Value) -> Vec<String> {
    cap["permissions"].as_array().expect("permissions").iter().map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p["identifier"].as_str().unwrap_or_default().to_string())).collect()
}

#[test]
fn every_command_has_a_permission_and_nothing_more_is_granted() {
    let caps = capabilities();
    let granted: BTreeSet<String> = caps.iter().flat_map(permission_ids).collect();
    for cmd in APP_COMMANDS {
        let perm = format!("allow-{}", cmd.replace('_', "-"));
        assert!(granted.contains(&perm), "command {cmd} has no permission ({perm}) in capabilities/");
    }
    for p in &granted {
        let allowed_prefix = ["allow-", "core:event:allow-listen", "core:event:allow-unlisten", "dialog:allow-open", "dialog:allow-save", "fs:allow-read-text-file"];
        assert!(allowed_prefix.iter().any(|a| p.starts_with(a)), "capability grants {p}, which the app does not need");
        assert!(!p.starts_with("shell:") && !p.starts_with("opener:") && !p.starts_with("http:"), "{p}");
        if let Some(cmd) = p.strip_prefix("allow-") {
            assert!(APP_COMMANDS.contains(&cmd.replace('-', "_").as_str()), "permission {p} for no command");
        }
    }
    // No static fs scope: the web view reads only the files the person picks (the dialog adds
    // each to the scope at run time), never the app's data, models or history.
    for cap in &caps {
        for p in cap["permissions"].as_array().expect("permissions") {
            assert!(p["identifier"] != "fs:scope" && p.as_str() != Some("fs:scope"), "a static fs scope in {}: {p}", cap["identifier"]);
            assert!(p.get("allow").is_none() && p.get("deny").is_none(), "a scoped grant in {}: {p}", cap["identifier"]);
        }
        // Capabilities apply to the app's own window, never to remote pages.
        assert!(cap.get("remote").is_none(), "{} grants remote URLs", cap["identifier"]);
    }
}

#[test]
fn capabilities_are_split_by_platform() {
    let caps = capabilities();
    let platforms = |id: &str| caps.iter().find(|c| c["identifier"] == id).map(|c| c["platforms"].clone()).unwrap_or(Value::Null);
    assert_eq!(platforms("files-desktop"), serde_json::json!(["linux", "macOS", "windows"]));
    assert_eq!(platforms("files-mobile"), serde_json::json!(["iOS", "android"]));
    let conf = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json"));
    let listed: BTreeSet<&str> = conf["app"]["security"]["capabilities"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    let files: BTreeSet<&str> = caps.iter().filter_map(|c| c["identifier"].as_str()).collect();
    assert_eq!(listed, files, "tauri.conf.json lists exactly the capability files");
}

#[test]
fn the_content_security_policy_is_strict() {
    let conf = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tauri.conf.json"));
    assert_eq!(conf["app"]["withGlobalTauri"], Value::Bool(false));
    let csp = &conf["app"]["security"]["csp"];
    let get = |k: &str| csp[k].as_str().unwrap_or_else(|| panic!("CSP has no {k}")).to_string();
    assert_eq!(get("default-src"), "'self'");
    assert_eq!(get("script-src"), "'self'");
    assert_eq!(get("object-src"), "'none'");
    assert_eq!(get("base-uri"), "'none'");
    for (k, v) in csp.as_object().expect("csp object") {
        let v = v.as_str().unwrap_or_default();
        assert!(!v.contains("unsafe-eval") && !v.contains("unsafe-inline"), "{k}: {v}");
        assert!(!v.contains('*'), "{k} allows any host: {v}");
        if k != "connect-src" {
            assert!(!v.contains("http"), "{k} allows remote content: {v}");
        }
    }
    // The only connection the page makes is Tauri's IPC.
    assert_eq!(get("connect-src"), "ipc: http://ipc.localhost");
    assert!(get("img-src").split_whitespace().all(|s| s == "'self'" || s == "data:"));
    assert!(conf["app"]["security"]["dangerousDisableAssetCspModification"].is_null());
}
