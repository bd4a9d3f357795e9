/**
 * Memory of the EC2 instance types a Redis node may use, in MiB (from the EC2 instance
 * type documentation). Redis `maxmemory` is sized from it, so an unknown type is refused
 * instead of guessed.
 */
export const INSTANCE_MEMORY_MIB: Readonly<Record<string, number>> = {
    "t3.medium": 4096,
    "t3.large": 8192,
    "t3.xlarge": 16384,
    "t3.2xlarge": 32768,
    "m5.large": 8192,
    "m5.xlarge": 16384,
    "m6i.large": 8192,
    "m6i.xlarge": 16384,
    "m7i.large": 8192,
    "m7i.xlarge": 16384,
    "r5.large": 16384,
    "r5.xlarge": 32768,
    "r6i.large": 16384,
    "r6i.xlarge": 32768,
    "r7i.large": 16384,
    "r7i.xlarge": 32768,
};
