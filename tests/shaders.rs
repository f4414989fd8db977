//! Device-free portability test: every shader parses and validates with naga, and translates to SPIR-V
//! (Vulkan), MSL (Metal) and HLSL (DX12) for every value of its `override` constants, so that a shader
//! that would break on a Mac or on Windows fails here first.

use naga::back::{hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use tandem::kernels::shaders::ALL;

/// Capabilities tandem may use; each is requested from the adapter only when it reports it.
fn capabilities() -> Capabilities {
    Capabilities::SUBGROUP | Capabilities::SHADER_FLOAT16 | Capabilities::SHADER_FLOAT16_IN_FLOAT32
}

fn translate(path: &str, module: &naga::Module, constants: &naga::back::PipelineConstants) {
    let info = Validator::new(ValidationFlags::all(), capabilities())
        .validate(module)
        .unwrap_or_else(|e| panic!("{path}: validation failed: {e:?}"));
    let (module, info) = naga::back::pipeline_constants::process_overrides(module, &info, None, constants)
        .unwrap_or_else(|e| panic!("{path} {constants:?}: overrides: {e}"));
    spv::write_vec(&module, &info, &spv::Options::default(), None)
        .unwrap_or_else(|e| panic!("{path} {constants:?}: SPIR-V: {e}"));
    let msl_options = msl::Options { lang_version: (2, 4), ..Default::default() };
    msl::write_string(&module, &info, &msl_options, &msl::PipelineOptions::default())
        .unwrap_or_else(|e| panic!("{path} {constants:?}: MSL: {e}"));
    let hlsl_options = hlsl::Options { shader_model: hlsl::ShaderModel::V6_0, ..Default::default() };
    let pipeline = hlsl::PipelineOptions::default();
    let mut out = String::new();
    hlsl::Writer::new(&mut out, &hlsl_options, &pipeline)
        .write(&module, &info, None)
        .unwrap_or_else(|e| panic!("{path} {constants:?}: HLSL: {e}"));
}

#[test]
fn every_shader_translates_to_spirv_msl_and_hlsl() {
    for (path, source) in ALL {
        let module =
            naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{path}: {}", e.emit_to_string(source)));
        assert!(!module.entry_points.is_empty(), "{path} has no entry point");
        let overrides: Vec<String> = module.overrides.iter().filter_map(|(_, o)| o.name.clone()).collect();
        // Every combination of the (boolean) override constants.
        for mask in 0..(1u32 << overrides.len()) {
            let mut constants = naga::back::PipelineConstants::default();
            for (i, name) in overrides.iter().enumerate() {
                constants.insert(name.clone(), f64::from((mask >> i) & 1));
            }
            translate(path, &module, &constants);
        }
    }
}

#[test]
fn every_wgsl_file_is_listed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "wgsl") {
                found.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    for f in &found {
        assert!(ALL.iter().any(|(p, _)| p == f), "shaders/{f} is not listed in tandem_kernels::shaders::ALL");
    }
    assert_eq!(found.len(), ALL.len(), "shaders::ALL lists a file that does not exist");
}

#[test]
fn a_broken_shader_is_reported_not_accepted() {
    // The test above must be able to fail: a type error is caught by validation.
    let module = naga::front::wgsl::parse_str("@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }");
    assert!(module.is_err(), "naga accepted an ill-typed shader");
}
