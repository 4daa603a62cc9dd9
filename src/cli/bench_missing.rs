//! `mqttforge bench` in a build without the `bench` feature: the command
//! exists, and says which feature to build in.

/// Load-test an MQTT broker (needs the `bench` feature).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The command line `bench` would take.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

pub fn run(_args: Args) -> u8 {
    super::feature_missing("bench", "`mqttforge bench` (the load generator)")
}
