//! Compiles proto/liaison/v1/*.proto with the pure-Rust `protox` (no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../proto";
    let files = [
        "../proto/liaison/v1/record.proto",
        "../proto/liaison/v1/analyst.proto",
        "../proto/liaison/v1/admin.proto",
        "../proto/liaison/v1/federation.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, [root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
