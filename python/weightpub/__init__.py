"""weightpub's Python trainer client: publish a state_dict to weightpub from the trainer's process.

    from weightpub import Publisher
    pub = Publisher("localhost:9092", "my-model", topic_prefix="weightpub")
    pub.publish(model.state_dict(), step)
"""

from .errors import LayoutError, PublishError, TensorError, WeightpubError
from .layout import DEFAULT_BUCKET_SIZE, DEFAULT_CHUNK_SIZE, TensorMeta, plan, plan_ranks
from .tensors import meta as tensor_meta

# The publisher needs avro; an engine process that imports only weightpub.engine (stdlib) must not.
_PUBLISHER_NAMES = ("Progress", "PublishResult", "Publisher", "ShardResult")


def __getattr__(name):
    if name in _PUBLISHER_NAMES:
        from . import publisher

        return getattr(publisher, name)
    raise AttributeError("module 'weightpub' has no attribute %r" % name)


__all__ = ["Publisher", "PublishResult", "ShardResult", "Progress", "TensorMeta", "plan", "plan_ranks",
           "tensor_meta", "WeightpubError", "LayoutError", "TensorError", "PublishError",
           "DEFAULT_BUCKET_SIZE", "DEFAULT_CHUNK_SIZE"]
