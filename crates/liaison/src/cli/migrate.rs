//! `liaison migrate`, and the same step at the start of `liaison run`: opens the
//! database so that an older layout moves to the one this build writes, and
//! shows the store's progress (a bar on a terminal, a plain line per checkpoint
//! otherwise, for logs and tests). This module must never decide anything about
//! layouts or steps (liaison-store's store/migrate.rs does) and never open the
//! database while a node holds it (the store's lock refuses that).

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result};
use liaison_identity::identity::NodeDir;
use liaison_server::config::NodeDirSetup;
use liaison_store::store::{MigrationProgress, Store, StoreConfig};

/// What opening did to the layout.
pub struct Migrated {
    /// Steps run to their end (0: the database was current).
    pub steps: usize,
    pub seconds: f64,
}

/// Opens the node's database, migrating it, then closes it again.
pub fn migrate(dir: &NodeDir, cache_bytes: u64, settings: &StoreConfig) -> Result<Migrated> {
    let started = Instant::now();
    let mut shown = Shown::new();
    let store = Store::open_reporting(&dir.database(), cache_bytes, settings, &mut |p| {
        shown.show(p)
    })
    .with_context(|| format!("cannot open the database at {}", dir.database().display()))?;
    store.flush_blocking()?;
    drop(store);
    shown.finish();
    Ok(Migrated {
        steps: shown.finished,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `liaison migrate`: the same as the start of `liaison run`, without serving.
pub fn command(dir: &NodeDir) -> Result<()> {
    // The bodies it moves go to segments of the configured size, as at `run`.
    let config = dir.load_config()?;
    let migrated = migrate(dir, 64 * 1024 * 1024, &config.node.store)?;
    match migrated.steps {
        0 => println!(
            "the database is in store layout {} already; nothing to do",
            liaison_store::store::STORE_LAYOUT_VERSION
        ),
        steps => println!(
            "the database moved to store layout {} ({steps} step(s), {:.1} s)",
            liaison_store::store::STORE_LAYOUT_VERSION,
            migrated.seconds
        ),
    }
    Ok(())
}

struct Shown {
    bar: Option<indicatif::ProgressBar>,
    finished: usize,
}

impl Shown {
    fn new() -> Shown {
        Shown {
            bar: None,
            finished: 0,
        }
    }

    fn show(&mut self, p: &MigrationProgress) {
        if p.finished {
            self.finished += 1;
        }
        let what = format!(
            "migrating the database to store layout {}: step {} of {} ({}){}",
            p.to,
            p.number,
            p.steps,
            p.step,
            if p.resumed { ", resumed" } else { "" }
        );
        if !std::io::stderr().is_terminal() {
            match p.finished {
                true => eprintln!("{what}: done"),
                false => eprintln!("{what}: {}/{}", p.done, p.total),
            }
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(p.total.max(1));
            let style =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} ETA {eta} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        bar.set_length(p.total.max(1));
        bar.set_position(p.done);
        bar.set_message(what);
        if p.finished {
            bar.finish();
            self.bar = None;
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}
