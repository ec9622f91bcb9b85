//! The code generated from `proto/calc.proto`: messages, client and server.

tonic::include_proto!("calc");

/// The encoded file descriptors of `calc.proto`, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("calc_descriptor");
