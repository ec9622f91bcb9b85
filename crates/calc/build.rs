//! Generates the calc gRPC code from `proto/calc.proto` with protox, a protobuf
//! compiler in pure Rust, so a clean clone builds without `protoc` installed.

use std::{env, error::Error, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto/calc.proto");
    let descriptors = protox::compile(["calc.proto"], ["proto"])?;
    // Server reflection serves the encoded descriptors, so `grpcurl` needs no proto file.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("calc_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
