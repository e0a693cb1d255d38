//! Turning a recipe's `device:` into a burn device.

use burn::tensor::Device;

use crate::recipe::DeviceKind;

/// A device whose backend was not compiled into this binary.
#[derive(Debug, thiserror::Error)]
#[error("device `{device}` needs the `{feature}` cargo feature; rebuild with `cargo build --release --features {feature}` or set `device: cpu`")]
pub struct DeviceError {
    pub device: &'static str,
    pub feature: &'static str,
}

/// Returns the device that `kind` names, without autodiff.
pub fn select(kind: DeviceKind) -> Result<Device, DeviceError> {
    match kind {
        DeviceKind::Cpu => Ok(Device::flex()),
        DeviceKind::Wgpu => wgpu(),
        DeviceKind::Cuda => cuda(),
    }
}

/// Returns a short name of the device for tables.
pub fn name(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Cpu => "cpu (flex)",
        DeviceKind::Wgpu => "wgpu",
        DeviceKind::Cuda => "cuda",
    }
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Result<Device, DeviceError> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Result<Device, DeviceError> {
    Err(DeviceError { device: "wgpu", feature: "wgpu" })
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Device, DeviceError> {
    Ok(Device::cuda(burn::tensor::DeviceIndex::Default))
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Device, DeviceError> {
    Err(DeviceError { device: "cuda", feature: "cuda" })
}
