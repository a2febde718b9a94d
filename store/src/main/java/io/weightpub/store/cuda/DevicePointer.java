package io.weightpub.store.cuda;

import jcuda.driver.CUdeviceptr;
import org.apache.flink.annotation.Internal;

/** A device pointer whose numeric address can be read (JCuda keeps it protected). */
@Internal
public final class DevicePointer extends CUdeviceptr {

    public long address() {
        return getNativePointer() + getByteOffset();
    }
}
