//! `rdpdoctor explain CODE [EXTENDED]`: what a code means and what to check, from the
//! knowledge base.

use crate::args::{ExplainArgs, InfoFormat};
use crate::exit;

pub fn run(args: ExplainArgs) -> u8 {
    if args.code.trim().is_empty() {
        eprintln!("rdpdoctor: explain needs a code, a name or event:ID");
        return exit::USAGE;
    }
    let e = rdpdoctor_kb::explain::explain(&args.code, args.extended.as_deref());
    match args.format {
        InfoFormat::Text => print!("{}", e.to_text()),
        InfoFormat::Json => println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default()),
    }
    if e.known {
        exit::HEALTHY
    } else {
        exit::COULD_NOT_CHECK
    }
}
