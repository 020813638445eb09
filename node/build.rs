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
    // Served by gRPC server reflection, so generic tools can list the services.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("liaison_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
