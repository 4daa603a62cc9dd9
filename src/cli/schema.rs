//! `mqttforge schema`: print the JSON Schema of the site spec.

/// Print the JSON Schema of the site spec (what editors read via `$schema`).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mqttforge schema > schema/site.schema.json\n\nIn a spec, point editors at it with a first line such as:\n  # yaml-language-server: $schema=../schema/site.schema.json"
)]
pub struct Args {}

pub fn run(_: Args) -> u8 {
    print!("{}", crate::spec::schema::schema_text());
    super::exit::OK
}
