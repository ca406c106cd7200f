"""Reading and writing a topic from the tests with librdkafka itself (through
ctypes, Python's standard library; no Kafka package needed): every message of
a topic from its beginning, and messages produced as a stage would.

The reader takes the topic's partitions by assignment (no consumer group, so
nothing it does moves the fleet's offsets) and stops when every partition
reported its end."""
import ctypes

RD_KAFKA_PRODUCER, RD_KAFKA_CONSUMER = 0, 1
OFFSET_BEGINNING = -2
ERR_PARTITION_EOF = -191
MSG_F_COPY = 2
PARTITION_UA = -1


class Message(ctypes.Structure):
    _fields_ = [("err", ctypes.c_int), ("rkt", ctypes.c_void_p), ("partition", ctypes.c_int32),
                ("payload", ctypes.c_void_p), ("len", ctypes.c_size_t), ("key", ctypes.c_void_p),
                ("key_len", ctypes.c_size_t), ("offset", ctypes.c_int64), ("_private", ctypes.c_void_p)]


def _lib():
    lib = ctypes.CDLL("librdkafka.so.1")
    vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
    sigs = {
        "rd_kafka_conf_new": ([], vp),
        "rd_kafka_conf_set": ([vp, cp, cp, cp, sz], ctypes.c_int),
        "rd_kafka_new": ([ctypes.c_int, vp, cp, sz], vp),
        "rd_kafka_topic_new": ([vp, cp, vp], vp),
        "rd_kafka_topic_destroy": ([vp], None),
        "rd_kafka_produce": ([vp, ctypes.c_int32, ctypes.c_int, cp, sz, cp, sz, vp], ctypes.c_int),
        "rd_kafka_flush": ([vp, ctypes.c_int], ctypes.c_int),
        "rd_kafka_outq_len": ([vp], ctypes.c_int),
        "rd_kafka_topic_partition_list_new": ([ctypes.c_int], vp),
        "rd_kafka_topic_partition_list_add": ([vp, cp, ctypes.c_int32], vp),
        "rd_kafka_topic_partition_list_set_offset": ([vp, cp, ctypes.c_int32, ctypes.c_int64], ctypes.c_int),
        "rd_kafka_topic_partition_list_destroy": ([vp], None),
        "rd_kafka_assign": ([vp, vp], ctypes.c_int),
        "rd_kafka_poll_set_consumer": ([vp], ctypes.c_int),
        "rd_kafka_consumer_poll": ([vp, ctypes.c_int], ctypes.POINTER(Message)),
        "rd_kafka_message_destroy": ([ctypes.POINTER(Message)], None),
        "rd_kafka_consumer_close": ([vp], ctypes.c_int),
        "rd_kafka_destroy": ([vp], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    return lib


LIB = _lib()


def _client(kind, brokers, extra):
    conf = LIB.rd_kafka_conf_new()
    err = ctypes.create_string_buffer(512)
    for k, v in {"bootstrap.servers": brokers, **extra}.items():
        if LIB.rd_kafka_conf_set(conf, k.encode(), v.encode(), err, len(err)) != 0:
            raise RuntimeError(f"{k}: {err.value.decode()}")
    rk = LIB.rd_kafka_new(kind, conf, err, len(err))
    if not rk:
        raise RuntimeError(err.value.decode())
    return rk


def read_topic(brokers, topic, partitions=12, timeout_s=30.0):
    """Every (key, value) on topic, from the beginning of each partition."""
    import time
    rk = _client(RD_KAFKA_CONSUMER, brokers, {"group.id": "reel-test-probe", "enable.partition.eof": "true",
                                              "enable.auto.commit": "false"})
    LIB.rd_kafka_poll_set_consumer(rk)
    parts = LIB.rd_kafka_topic_partition_list_new(partitions)
    for p in range(partitions):
        LIB.rd_kafka_topic_partition_list_add(parts, topic.encode(), p)
        LIB.rd_kafka_topic_partition_list_set_offset(parts, topic.encode(), p, OFFSET_BEGINNING)
    LIB.rd_kafka_assign(rk, parts)
    LIB.rd_kafka_topic_partition_list_destroy(parts)
    out, ended, deadline = [], set(), time.time() + timeout_s
    try:
        while len(ended) < partitions:
            if time.time() > deadline:
                raise TimeoutError(f"{topic}: only {len(ended)} of {partitions} partitions reached their end")
            m = LIB.rd_kafka_consumer_poll(rk, 200)
            if not m:
                continue
            msg = m.contents
            if msg.err == ERR_PARTITION_EOF:
                ended.add(msg.partition)
            elif msg.err == 0:
                key = ctypes.string_at(msg.key, msg.key_len).decode() if msg.key else None
                out.append((key, ctypes.string_at(msg.payload, msg.len).decode()))
            LIB.rd_kafka_message_destroy(m)
    finally:
        LIB.rd_kafka_consumer_close(rk)
        LIB.rd_kafka_destroy(rk)
    return out


def produce(brokers, topic, messages):
    """Produces (key, value) pairs with the default partitioner, as the daemons do, and waits for them."""
    rk = _client(RD_KAFKA_PRODUCER, brokers, {})
    rkt = LIB.rd_kafka_topic_new(rk, topic.encode(), None)
    try:
        for key, value in messages:
            k, v = key.encode(), value.encode()
            if LIB.rd_kafka_produce(rkt, PARTITION_UA, MSG_F_COPY, v, len(v), k, len(k), None) != 0:
                raise RuntimeError("produce failed")
        LIB.rd_kafka_flush(rk, 10000)
        if LIB.rd_kafka_outq_len(rk) != 0:
            raise RuntimeError(f"{topic}: messages were not delivered")
    finally:
        LIB.rd_kafka_topic_destroy(rkt)
        LIB.rd_kafka_destroy(rk)
