//! The `tumaini` binary: see `tumaini --help`.

fn main() -> std::process::ExitCode {
    tumaini_api::cli::main()
}
