import numpy as np
import pytest

from weightpub import LayoutError, PublishError, Publisher, TensorError, WeightpubError


def test_a_publish_no_broker_takes_fails_before_its_first_chunk_naming_model_step_publish_and_topic():
    # Chunks are placed by partition count, so the first thing a publish needs from the broker is the
    # chunks topic's partitions; it waits for them no longer than a record would wait for delivery.
    publisher = Publisher("127.0.0.1:1", "org/m", bucket_size=64, chunk_size=16,
                          producer_config={"message.timeout.ms": 1500, "socket.connection.setup.timeout.ms": 1000})
    with pytest.raises(PublishError) as caught:
        publisher.publish({"w": np.arange(12, dtype=np.float32)}, step=3)
    e = caught.value
    assert isinstance(e, WeightpubError)
    assert (e.model_id, e.step, e.bucket, e.chunk) == ("org/m", 3, None, None)
    assert e.publish_id and "model org/m, step 3, publish %s" % e.publish_id in str(e)
    assert "manifest not sent" in str(e) and "partitions of topic weightpub.chunks" in str(e)


def test_bad_input_is_refused_before_anything_is_sent():
    publisher = Publisher("127.0.0.1:1", "m", bucket_size=64, chunk_size=16)
    with pytest.raises(TensorError, match="tensor w is a list"):
        publisher.publish([("w", [1.0, 2.0])], step=1)
    with pytest.raises(LayoutError, match="no tensors"):
        publisher.publish({}, step=1)
    with pytest.raises(LayoutError, match="must not be negative"):
        publisher.publish({"w": np.zeros(2, dtype=np.float32)}, step=-1)
    with pytest.raises(LayoutError, match="model id"):
        Publisher("127.0.0.1:1", " ")


def test_the_default_chunk_fits_librdkafka_because_the_client_raises_its_limits():
    publisher = Publisher("127.0.0.1:1", "m")
    config = publisher.producer_config()
    assert config["message.max.bytes"] >= 1_044_480 + 64 * 1024 > 1_000_000
    assert (config["partitioner"], config["bootstrap.servers"]) == ("murmur2_random", "127.0.0.1:1")
    assert (config["enable.idempotence"], config["acks"]) == (True, "all")
