package io.weightpub.sink.internal;

import jcuda.driver.CUdeviceptr;

/** A device pointer whose numeric address can be read (JCuda keeps it protected). */
final class DevicePointer extends CUdeviceptr {

    long address() {
        return getNativePointer() + getByteOffset();
    }
}
