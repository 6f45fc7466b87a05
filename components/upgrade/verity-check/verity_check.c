/* verity_check: `veritysetup verify DEVICE DEVICE ROOT_HASH --hash-offset HASH_OFFSET`, fast on
 * a root that is mostly zeros.
 *
 * Usage: verity_check DEVICE ROOT_HASH HASH_OFFSET
 *
 * The verdict is veritysetup's for the trees icos verity and veritysetup format write (superblock
 * at HASH_OFFSET, hash type 1, sha256): every hash block of every level must equal, zero padding
 * included, the block computed from the level below it, and the top block must hash to
 * ROOT_HASH. Why not veritysetup itself: manageboot.sh checks a whole slot after every upgrade,
 * a 10 GiB root that is mostly holes, and hashing every zero block takes minutes on a slow or
 * emulated CPU. Here a block equal to the one before it reuses its hash, so a run of equal blocks
 * (zeros, and the hash blocks that list their hashes) is hashed once; every block is still read.
 *
 * Exit status 0 when the tree and the root hash hold, 1 with one line on stderr otherwise.
 * Plain C99 and POSIX, no libraries: it is linked statically into the images. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#define DIGEST_BYTES 32
#define SUPERBLOCK_BYTES 512
#define MAX_SALT_BYTES 256
#define MAX_BLOCK_BYTES (64 * 1024)
#define READ_CHUNK_BYTES (1024 * 1024)

static const char *device;

static void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "verity_check: %s: ", device ? device : "(no device)");
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 {
  uint32_t state[8];
  uint8_t buffer[64];
  uint64_t length;
  size_t used;
};

static const uint32_t ROUND_CONSTANTS[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + ROUND_CONSTANTS[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  state[0] += a; state[1] += b; state[2] += c; state[3] += d;
  state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

static void sha256_init(struct sha256 *ctx) {
  static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(ctx->state, initial, sizeof initial);
  ctx->length = 0;
  ctx->used = 0;
}

static void sha256_update(struct sha256 *ctx, const uint8_t *data, size_t size) {
  ctx->length += size;
  while (size > 0) {
    if (ctx->used == 0 && size >= 64) {
      sha256_compress(ctx->state, data);
      data += 64;
      size -= 64;
      continue;
    }
    size_t take = 64 - ctx->used < size ? 64 - ctx->used : size;
    memcpy(ctx->buffer + ctx->used, data, take);
    ctx->used += take;
    data += take;
    size -= take;
    if (ctx->used == 64) {
      sha256_compress(ctx->state, ctx->buffer);
      ctx->used = 0;
    }
  }
}

static void sha256_final(struct sha256 *ctx, uint8_t digest[DIGEST_BYTES]) {
  uint64_t bits = ctx->length * 8;
  uint8_t pad[72] = {0x80};
  size_t pad_bytes = (ctx->used < 56 ? 56 : 120) - ctx->used;
  for (int i = 0; i < 8; i++) pad[pad_bytes + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(ctx, pad, pad_bytes + 8);
  for (int i = 0; i < 8; i++) {
    digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
    digest[4 * i + 3] = (uint8_t)ctx->state[i];
  }
}

/* ---- the tree ---- */

struct params {
  uint32_t data_block_bytes, hash_block_bytes;
  uint64_t data_blocks;
  uint8_t salt[MAX_SALT_BYTES];
  uint16_t salt_bytes;
};

/* sha256(salt || block), the hash of verity's type 1, reusing the last result for an equal block. */
struct hasher {
  const struct params *params;
  uint8_t *last_block;
  size_t last_bytes;
  uint8_t last_digest[DIGEST_BYTES];
};

static void hash_block(struct hasher *hasher, const uint8_t *block, size_t bytes, uint8_t digest[DIGEST_BYTES]) {
  if (hasher->last_bytes == bytes && memcmp(hasher->last_block, block, bytes) == 0) {
    memcpy(digest, hasher->last_digest, DIGEST_BYTES);
    return;
  }
  struct sha256 ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, hasher->params->salt, hasher->params->salt_bytes);
  sha256_update(&ctx, block, bytes);
  sha256_final(&ctx, digest);
  memcpy(hasher->last_block, block, bytes);
  hasher->last_bytes = bytes;
  memcpy(hasher->last_digest, digest, DIGEST_BYTES);
}

static void read_exactly(int fd, void *buffer, size_t bytes, uint64_t offset) {
  size_t done = 0;
  while (done < bytes) {
    ssize_t got = pread(fd, (uint8_t *)buffer + done, bytes - done, (off_t)(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("cannot read %zu bytes at byte %" PRIu64 ": %s", bytes - done, offset + done, strerror(errno));
    if (got == 0) fail("ends at byte %" PRIu64 ", before the verity data and tree do", offset + done);
    done += (size_t)got;
  }
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static int power_of_two_in(uint32_t value, uint32_t low, uint32_t high) {
  return value >= low && value <= high && (value & (value - 1)) == 0;
}

/* The superblock veritysetup format writes at the hash offset (struct verity_sb, little-endian). */
static void read_superblock(int fd, uint64_t hash_offset, struct params *params) {
  uint8_t sb[SUPERBLOCK_BYTES];
  read_exactly(fd, sb, sizeof sb, hash_offset);
  if (memcmp(sb, "verity\0\0", 8) != 0) fail("no verity superblock at the hash offset %" PRIu64, hash_offset);
  if (le32(sb + 8) != 1) fail("verity superblock version %" PRIu32 ", only 1 is known", le32(sb + 8));
  if (le32(sb + 12) != 1) fail("verity hash type %" PRIu32 ", only 1 (veritysetup's default) is supported", le32(sb + 12));
  if (strncmp((const char *)sb + 32, "sha256", 32) != 0) fail("verity hash algorithm \"%.32s\", only sha256 is supported", (const char *)sb + 32);
  params->data_block_bytes = le32(sb + 64);
  params->hash_block_bytes = le32(sb + 68);
  params->data_blocks = (uint64_t)le32(sb + 72) | (uint64_t)le32(sb + 76) << 32;
  params->salt_bytes = (uint16_t)(sb[80] | sb[81] << 8);
  if (!power_of_two_in(params->data_block_bytes, 512, MAX_BLOCK_BYTES)) fail("data block size %" PRIu32 " is not a power of two from 512 to %d", params->data_block_bytes, MAX_BLOCK_BYTES);
  if (!power_of_two_in(params->hash_block_bytes, 512, MAX_BLOCK_BYTES)) fail("hash block size %" PRIu32 " is not a power of two from 512 to %d", params->hash_block_bytes, MAX_BLOCK_BYTES);
  if (params->data_blocks == 0 || params->data_blocks > (UINT64_MAX >> 17)) fail("%" PRIu64 " data blocks is not a verity data area", params->data_blocks);
  if (params->salt_bytes > MAX_SALT_BYTES) fail("a salt of %u bytes, more than %d", params->salt_bytes, MAX_SALT_BYTES);
  memcpy(params->salt, sb + 88, params->salt_bytes);
}

static uint64_t device_bytes(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) fail("cannot stat: %s", strerror(errno));
  if (S_ISREG(st.st_mode)) return (uint64_t)st.st_size;
  uint64_t bytes;
  if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &bytes) == 0) return bytes;
  fail("is neither a block device nor a regular file");
  return 0;
}

/* Compares one computed hash block with the stored one of the same level and index. */
static void check_hash_block(int fd, const struct params *params, const uint8_t *computed, uint8_t *stored, uint64_t position, int level, uint64_t index) {
  uint64_t offset = position * params->hash_block_bytes;
  read_exactly(fd, stored, params->hash_block_bytes, offset);
  if (memcmp(computed, stored, params->hash_block_bytes) != 0)
    fail("hash block %" PRIu64 " of tree level %d (byte %" PRIu64 ") differs from the blocks below it: verification failed", index, level, offset);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: verity_check DEVICE ROOT_HASH HASH_OFFSET\n");
    return 1;
  }
  device = argv[1];
  uint8_t root_hash[DIGEST_BYTES];
  if (strlen(argv[2]) != 2 * DIGEST_BYTES || strspn(argv[2], "0123456789abcdef") != 2 * DIGEST_BYTES)
    fail("root hash \"%s\" is not 64 lower-case hex digits", argv[2]);
  for (int i = 0; i < DIGEST_BYTES; i++) sscanf(argv[2] + 2 * i, "%2" SCNx8, &root_hash[i]);
  char *end;
  errno = 0;
  uint64_t hash_offset = strtoull(argv[3], &end, 10);
  if (errno || end == argv[3] || *end || argv[3][0] == '-' || hash_offset % 512)
    fail("hash offset \"%s\" is not a multiple of 512 bytes", argv[3]);

  int fd = open(device, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open: %s", strerror(errno));
  /* The data is read with O_DIRECT where the device allows it: in an emulated guest the
   * copy through the page cache costs more than the reading. */
  int data_fd = open(device, O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (data_fd < 0) data_fd = fd;

  struct params params;
  read_superblock(fd, hash_offset, &params);
  uint64_t data_bytes = params.data_blocks * params.data_block_bytes;
  if (data_bytes > hash_offset) fail("the data area (%" PRIu64 " bytes) overlaps the hash area at byte %" PRIu64, data_bytes, hash_offset);

  /* Levels as veritysetup lays them out: level 0 hashes the data, the top level is one block
   * and comes first, right after the superblock's hash block. */
  int bits = 0;
  while ((1u << (bits + 1)) <= params.hash_block_bytes / DIGEST_BYTES) bits++;
  const uint32_t per_block = 1u << bits;
  int levels = 0;
  while (bits * levels < 64 && ((params.data_blocks - 1) >> (bits * levels)) != 0) levels++;
  uint64_t level_position[64], level_blocks[64];
  uint64_t position = (hash_offset + SUPERBLOCK_BYTES + params.hash_block_bytes - 1) / params.hash_block_bytes;
  for (int level = levels - 1; level >= 0; level--) {
    level_position[level] = position;
    int shift = (level + 1) * bits;
    level_blocks[level] = shift >= 64 ? 1 : (params.data_blocks + (UINT64_C(1) << shift) - 1) >> shift;
    position += level_blocks[level];
  }
  if (position * params.hash_block_bytes > device_bytes(fd))
    fail("is %" PRIu64 " bytes, the hash tree ends at byte %" PRIu64, device_bytes(fd), position * params.hash_block_bytes);

  uint8_t *chunk, *computed, *stored, *below;
  size_t max_block = params.data_block_bytes > params.hash_block_bytes ? params.data_block_bytes : params.hash_block_bytes;
  if (posix_memalign((void **)&chunk, 4096, READ_CHUNK_BYTES) || !(computed = malloc(params.hash_block_bytes)) ||
      !(stored = malloc(params.hash_block_bytes)) || !(below = malloc(params.hash_block_bytes)))
    fail("out of memory");
  struct hasher hasher = {.params = &params, .last_block = malloc(max_block)};
  if (!hasher.last_block) fail("out of memory");
  uint8_t digest[DIGEST_BYTES];

  /* The top "block" hashed into the root is the data block itself when there is no level. */
  if (levels == 0) {
    read_exactly(fd, chunk, params.data_block_bytes, 0);
    hash_block(&hasher, chunk, params.data_block_bytes, digest);
  }
  /* Level 0 from the data, read in large chunks. */
  const uint64_t blocks_per_chunk = READ_CHUNK_BYTES / params.data_block_bytes;
  for (uint64_t first = 0; levels > 0 && first < params.data_blocks; first += blocks_per_chunk) {
    uint64_t count = params.data_blocks - first < blocks_per_chunk ? params.data_blocks - first : blocks_per_chunk;
    read_exactly(data_fd, chunk, count * params.data_block_bytes, first * params.data_block_bytes);
    for (uint64_t i = 0; i < count; i++) {
      uint64_t block = first + i;
      if (block % per_block == 0) memset(computed, 0, params.hash_block_bytes);
      hash_block(&hasher, chunk + i * params.data_block_bytes, params.data_block_bytes, computed + (block % per_block) * DIGEST_BYTES);
      if (block % per_block == per_block - 1 || block == params.data_blocks - 1)
        check_hash_block(fd, &params, computed, stored, level_position[0] + block / per_block, 0, block / per_block);
    }
  }
  /* Each level above from the stored one below, which now holds. */
  for (int level = 1; level < levels; level++) {
    for (uint64_t block = 0; block < level_blocks[level - 1]; block++) {
      read_exactly(fd, below, params.hash_block_bytes, (level_position[level - 1] + block) * params.hash_block_bytes);
      if (block % per_block == 0) memset(computed, 0, params.hash_block_bytes);
      hash_block(&hasher, below, params.hash_block_bytes, computed + (block % per_block) * DIGEST_BYTES);
      if (block % per_block == per_block - 1 || block == level_blocks[level - 1] - 1)
        check_hash_block(fd, &params, computed, stored, level_position[level] + block / per_block, level, block / per_block);
    }
  }
  if (levels > 0) {
    read_exactly(fd, below, params.hash_block_bytes, level_position[levels - 1] * params.hash_block_bytes);
    hash_block(&hasher, below, params.hash_block_bytes, digest);
  }
  if (memcmp(digest, root_hash, DIGEST_BYTES) != 0) fail("the tree's top block does not hash to the root hash %s: verification failed", argv[2]);
  return 0;
}
