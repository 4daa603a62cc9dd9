//! Parsers for the configuration formats mqttforge writes and audits, each
//! keeping line:column positions.

pub mod cursor;
pub mod emqx_keys;
pub mod erlang;
pub mod hocon;
pub mod promql;
pub mod yaml;
