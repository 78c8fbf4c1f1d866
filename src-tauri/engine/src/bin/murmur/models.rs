//! `murmur models …`: list, download (with progress bars), import, verify, remove.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use murmur_engine::models::{import, DownloadOptions, DownloadState, Downloader, ImportMode, Installed};
use murmur_engine::CancelToken;

use crate::args::{Cli, ModelsCommand};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

pub fn run(cli: &Cli, command: &ModelsCommand) -> Result<()> {
    let catalog = cli.catalog()?;
    let store = cli.store();
    match command {
        ModelsCommand::List => {
            println!("models in {}", store.dir().display());
            for (m, state) in store.list(&catalog) {
                let state = match state {
                    Installed::Missing => "-".to_string(),
                    Installed::Partial { bytes } => format!("partial {}%", bytes * 100 / m.bytes.max(1)),
                    Installed::Ready { .. } => "installed".to_string(),
                    Installed::Referenced { path } => format!("imported ({})", path.display()),
                };
                let role = format!("{:?}", m.role).to_lowercase();
                let default = if m.default { " (default)" } else { "" };
                println!("{:<32} {role:<4} {:>8}  {:<10} {}{default}", m.id, mb(m.bytes), state, m.name);
            }
            for m in store.imported(&catalog) {
                let role = format!("{:?}", m.role).to_lowercase();
                let size = std::fs::metadata(&m.path).map_or("?".to_string(), |md| mb(md.len()));
                let state = if m.present { format!("imported ({})", m.path.display()) } else { format!("missing ({})", m.path.display()) };
                println!("{:<32} {role:<4} {size:>8}  {state} {}", m.id, m.summary);
            }
            Ok(())
        }
        ModelsCommand::Download { ids } => {
            let entries = ids.iter().map(|id| catalog.get(id).cloned()).collect::<std::result::Result<Vec<_>, _>>()?;
            let cancel = CancelToken::new();
            let c = cancel.clone();
            let _ = ctrlc::set_handler(move || c.cancel());
            let bars = MultiProgress::new();
            let style = ProgressStyle::with_template("{msg:32} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let downloader = Downloader::new(DownloadOptions::default())?;
            let results = runtime.block_on(async {
                let jobs = entries.iter().map(|entry| {
                    let bar = bars.add(ProgressBar::new(entry.bytes).with_style(style.clone()).with_message(entry.id.clone()));
                    let (store, cancel, downloader) = (&store, &cancel, &downloader);
                    async move {
                        let mut on_progress = |p: &murmur_engine::models::DownloadProgress| {
                            bar.set_position(p.bytes_done);
                            match &p.state {
                                DownloadState::Checking => bar.set_message(format!("{} (checking)", p.id)),
                                DownloadState::Verifying => bar.set_message(format!("{} (verifying)", p.id)),
                                DownloadState::Downloading => bar.set_message(p.id.clone()),
                                _ => {}
                            }
                            if !bar.is_hidden() {
                                return;
                            }
                            // No terminal: one line per state change, and a line every ~10%.
                            let tenth = p.bytes_total / 10;
                            if !matches!(p.state, DownloadState::Downloading) || (tenth > 0 && p.bytes_done % tenth < 4 << 20) {
                                eprintln!("{}: {:?} {}/{}", p.id, p.state, p.bytes_done, p.bytes_total);
                            }
                        };
                        let r = downloader.download(entry, store, cancel, &mut on_progress).await;
                        bar.finish_and_clear();
                        (entry.id.clone(), r)
                    }
                });
                futures_util::future::join_all(jobs).await
            });
            let mut failed = false;
            for (id, r) in results {
                match r {
                    Ok(path) => println!("{id}: ready at {}", path.display()),
                    Err(e) => {
                        failed = true;
                        eprintln!("{id}: {e}");
                    }
                }
            }
            if failed {
                Err("not every download finished".into())
            } else {
                Ok(())
            }
        }
        ModelsCommand::Import { path, reference, id } => {
            let mode = if *reference { ImportMode::Reference } else { ImportMode::Copy };
            let imported = import(&store, &catalog, path, mode, id.as_deref())?;
            println!("imported {} ({:?}): {}\n  at {}", imported.id, imported.role, imported.summary, imported.path.display());
            Ok(())
        }
        ModelsCommand::Verify { id } => {
            let entry = catalog.get(id)?;
            let path = store.usable(entry).ok_or_else(|| format!("{id} is not installed"))?;
            let bar = ProgressBar::new_spinner().with_message(format!("hashing {}", path.display()));
            bar.enable_steady_tick(Duration::from_millis(100));
            let hash = murmur_engine::models::sha256_file(&path)?;
            bar.finish_and_clear();
            if hash == entry.sha256.to_lowercase() {
                println!("{id}: OK ({hash})");
                Ok(())
            } else {
                Err(format!("{id}: SHA-256 mismatch: {hash}, expected {} — remove it and download again", entry.sha256).into())
            }
        }
        ModelsCommand::Remove { id } => {
            let removed = match catalog.get(id) {
                Ok(entry) => store.remove(entry)?,
                Err(_) => store.remove_imported(id)?,
            };
            if removed {
                println!("{id}: removed");
            } else {
                println!("{id}: nothing to remove");
            }
            Ok(())
        }
    }
}
