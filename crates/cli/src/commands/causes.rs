//! `rdpdoctor causes [ID]`: the cause catalog, or one cause in full.

use crate::args::{CausesArgs, InfoFormat};
use crate::exit;

pub fn run(args: CausesArgs) -> u8 {
    match (&args.id, args.format) {
        (None, InfoFormat::Text) => print!("{}", rdpdoctor_kb::render::causes_table()),
        (None, InfoFormat::Json) => println!(
            "{}",
            serde_json::to_string_pretty(rdpdoctor_kb::causes()).unwrap_or_default()
        ),
        (Some(id), format) => {
            let Some(cause) = rdpdoctor_kb::cause(id) else {
                eprintln!("rdpdoctor: no cause '{id}'; `rdpdoctor causes` lists them");
                return exit::USAGE;
            };
            match format {
                InfoFormat::Text => print!("{}", rdpdoctor_kb::render::cause_text(cause)),
                InfoFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(cause).unwrap_or_default()
                ),
            }
        }
    }
    exit::HEALTHY
}
