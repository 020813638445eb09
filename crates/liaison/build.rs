//! Names the git commit this binary is built from, for `liaison --version`
//! (`LIAISON_GIT_COMMIT`). It asks the local `git` (never the network) and
//! falls back to "unknown" outside a checkout (a source tarball) or without git;
//! a packager may set `LIAISON_GIT_COMMIT` itself. Must never fail the build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIAISON_GIT_COMMIT");
    let commit = match std::env::var("LIAISON_GIT_COMMIT") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_string(),
        _ => {
            watch_head();
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=LIAISON_GIT_COMMIT={commit}");
}

/// Rebuild when HEAD moves: the HEAD file (a branch switch) and the file of the
/// branch it points to (a commit). Only existing files are named, since cargo
/// re-runs a script every build for a missing one.
fn watch_head() {
    let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]).map(PathBuf::from) else {
        return;
    };
    watch(&git_dir.join("HEAD"));
    let common = git(&["rev-parse", "--git-common-dir"])
        .map(|dir| absolute(&git_dir, dir))
        .unwrap_or_else(|| git_dir.clone());
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&git_dir.join(&reference));
        watch(&common.join(&reference));
    }
    watch(&common.join("packed-refs"));
}

fn absolute(git_dir: &Path, dir: String) -> PathBuf {
    let path = PathBuf::from(dir);
    match path.is_absolute() {
        true => path,
        // Relative to the current directory, which is the crate's.
        false => std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or_else(|_| git_dir.join(path)),
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
