//! `cargo run -p rdpdoctor-kb --example explain -- 0x904 0x7 [--json]`: what `rdpdoctor explain`
//! prints, without the CLI.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let query = rest.first().map(|s| s.as_str()).unwrap_or("");
    let extended = rest.get(1).map(|s| s.as_str());
    let e = rdpdoctor_kb::explain(query, extended);
    if json {
        println!("{}", serde_json::to_string_pretty(&e).expect("serialize"));
    } else {
        print!("{e}");
    }
}
