package io.weightpub.store.cuda;

import jcuda.driver.CUdeviceptr;

/** A device pointer whose numeric address can be read (JCuda keeps it protected). */
public final class DevicePointer extends CUdeviceptr {

    public long address() {
        return getNativePointer() + getByteOffset();
    }
}
