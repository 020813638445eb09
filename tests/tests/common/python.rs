//! The Python the interop tests run (stock clients: grpcio, taxii2-client,
//! stix2-validator, PyMISP), and running it with a timeout; output through
//! files, so a chatty child can never block on a full pipe.
//!
//! Which interpreter: `LIAISON_PYTHON` if set (as `.ci/run` does), else a venv
//! this harness makes itself — once per requirements, under cargo's
//! `CARGO_TARGET_TMPDIR`, with `python3 -m venv` and `pip install` from PyPI —
//! so that the README's `cargo test --workspace` needs only the Rust toolchain
//! and python3. Either way the interpreter must import every module the tests
//! use. When it cannot, the test FAILS saying how to provide one: a Python-backed
//! test never passes without running.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What one Python run printed, and whether it succeeded.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The requirement files the venv is made from, relative to the repository.
const REQUIREMENTS: [&str; 2] = [
    "examples/python/requirements.txt",
    "tests/python/requirements.txt",
];

/// Every module a Python-backed test imports.
const IMPORTS: &str = "import grpc, grpc_tools, taxii2client, stix2validator, pymisp";

/// How long creating the venv and installing into it may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

const HOW: &str = "run .ci/run (it makes .venv-ci), or make a venv yourself \
     (python3 -m venv .venv && .venv/bin/pip install -r examples/python/requirements.txt \
     -r tests/python/requirements.txt) and export LIAISON_PYTHON=$PWD/.venv/bin/python";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The interpreter the tests use, with every package they need; the first call
/// makes (or reuses) the venv, later calls and other threads share its answer.
/// Panics, failing the calling test, when no such interpreter can be had.
pub fn python() -> &'static str {
    static PYTHON: OnceLock<Result<String, String>> = OnceLock::new();
    match PYTHON.get_or_init(provide) {
        Ok(python) => python,
        Err(why) => panic!("no Python for the interop tests: {why}\nTo provide one: {HOW}"),
    }
}

fn provide() -> Result<String, String> {
    if let Some(given) = std::env::var("LIAISON_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
    {
        check_imports(&given).map_err(|why| format!("LIAISON_PYTHON={given}: {why}"))?;
        return Ok(given);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("venv-{}", requirements_key()?));
    let python = venv.join("bin").join("python");
    let python_text = python.to_string_lossy().into_owned();
    // Other test processes (another `cargo test`, nextest's one process per
    // test) may be making the same venv: one makes it, the rest wait.
    std::fs::create_dir_all(venv.parent().expect("a parent")).map_err(|e| e.to_string())?;
    let lock_path = venv.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let ready = venv.join("ready");
    if !ready.exists() {
        make_venv(&venv, &python_text)?;
        std::fs::write(&ready, b"").map_err(|e| e.to_string())?;
    }
    drop(lock);
    check_imports(&python_text).map_err(|why| {
        format!(
            "the test venv {} is broken ({why}); delete it to have it made again",
            venv.display()
        )
    })?;
    Ok(python_text)
}

/// A key that changes whenever a requirement file does (FNV-1a over them).
fn requirements_key() -> Result<String, String> {
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    for file in REQUIREMENTS {
        let path = repo_root().join(file);
        let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        hash.write(&text);
    }
    Ok(format!("{:016x}", hash.finish()))
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `python3 -m venv`, then pip installs the requirements (from PyPI).
fn make_venv(venv: &Path, python: &str) -> Result<(), String> {
    eprintln!(
        "making the Python venv for the interop tests in {} (once; needs python3 and PyPI)",
        venv.display()
    );
    // A venv left half-made by an interrupted run is made again from scratch.
    if venv.exists() {
        std::fs::remove_dir_all(venv).map_err(|e| format!("{}: {e}", venv.display()))?;
    }
    let venv_text = venv.to_string_lossy();
    let made = run_python("python3", &["-m", "venv", &venv_text], INSTALL_TIMEOUT)?;
    if !made.success {
        return Err(format!(
            "python3 -m venv failed: {}",
            last_lines(&made.stderr)
        ));
    }
    let root = repo_root();
    let mut args = vec![
        "-m".to_string(),
        "pip".into(),
        "install".into(),
        "--quiet".into(),
        "--disable-pip-version-check".into(),
    ];
    for file in REQUIREMENTS {
        args.push("-r".into());
        args.push(root.join(file).to_string_lossy().into_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let installed = run_python(python, &args, INSTALL_TIMEOUT)?;
    if !installed.success {
        return Err(format!(
            "pip install into {} failed: {}",
            venv.display(),
            last_lines(&installed.stderr)
        ));
    }
    Ok(())
}

fn check_imports(python: &str) -> Result<(), String> {
    let run = run_python(python, &["-c", IMPORTS], Duration::from_secs(120))?;
    if run.success {
        Ok(())
    } else {
        Err(format!("cannot `{IMPORTS}`: {}", last_lines(&run.stderr)))
    }
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Runs `python ARGS…`, killing it after `timeout`.
pub fn run_python(python: &str, args: &[&str], timeout: Duration) -> Result<Run, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(python)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{python} {args:?} did not finish within {timeout:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for {python}: {e}")),
        }
    };
    Ok(Run {
        success: status.success(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}
