//! The real `liaison` entry point, built inside the black-box test package so its
//! tests can start it as a process (`CARGO_BIN_EXE_liaison-under-test`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    liaison::cli::main()
}
