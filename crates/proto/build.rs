//! Compiles proto/liaison/v1/*.proto with the pure-Rust `protox` (no system protoc),
//! and generates serde impls in the canonical proto3 JSON mapping (pbjson-build)
//! for the CLI's `--json` output.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../../proto";
    let files = [
        "../../proto/liaison/v1/record.proto",
        "../../proto/liaison/v1/analyst.proto",
        "../../proto/liaison/v1/admin.proto",
        "../../proto/liaison/v1/federation.proto",
        "../../proto/liaison/v1/cli.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, [root])?;
    let descriptor = prost::Message::encode_to_vec(&fds);
    // Served by gRPC server reflection, so generic tools can list the services.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("liaison_descriptor.bin"), &descriptor)?;
    // The gRPC clients and servers only with the `grpc` feature: the pure core
    // uses the messages alone and must not pull tonic in.
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .compile_fds(fds)?;
    // lowerCamelCase names, enum names, 64-bit integers as strings, bytes as
    // base64; fields at their default value are printed too (like protobuf's
    // `always_print_fields_with_no_presence`), so scripts always find every key.
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor)?
        .out_dir(&out)
        .emit_fields()
        .build(&[".liaison.v1"])?;
    Ok(())
}
