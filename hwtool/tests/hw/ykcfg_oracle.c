/* ykcfg_oracle.c: prints the 52-byte slot configuration and the 70-byte HID frame that libykpers builds.
 * Test oracle for tessera-hwtool (built by the tests with gcc + libykpers-1-dev; no key needed).
 * usage: ykcfg_oracle MODE SLOT [opt=value | flag]...
 *   MODE hotp: key=HEX40 digits=6|8 tokenid=HEX imf=N      yubico: fixed=HEX uid=HEX12 aes=HEX32
 *   MODE chal: key=HEX40 touch                              delete: (nothing)
 *   all: acc=HEX12 (new access code), cur=HEX12 (current access code, sent in the frame), nocr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ykpers.h>
#include <ykdef.h>
#include <ykcore.h>
#include <yubikey.h>

static const char *opt(int argc, char **argv, const char *name) {
  size_t n = strlen(name);
  for (int i = 3; i < argc; i++) {
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
    if (strcmp(argv[i], name) == 0) return "";
  }
  return NULL;
}

static size_t unhex(const char *s, unsigned char *out, size_t max) {
  size_t n = strlen(s) / 2;
  if (n > max) { fprintf(stderr, "hex too long: %s\n", s); exit(2); }
  for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &out[i]);
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: ykcfg_oracle MODE SLOT [opts]\n"); return 2; }
  const char *mode = argv[1];
  int command = atoi(argv[2]) == 1 ? SLOT_CONFIG : SLOT_CONFIG2;
  unsigned char buf[sizeof(struct config_st)];
  memset(buf, 0, sizeof buf);
  const char *v;
  if (strcmp(mode, "delete") != 0) {
    struct status_st st; memset(&st, 0, sizeof st);
    st.versionMajor = 5; st.versionMinor = 4; st.versionBuild = 3;
    YKP_CONFIG *cfg = ykp_alloc();
    ykp_configure_version(cfg, (YK_STATUS *)&st);
    ykp_configure_command(cfg, command);
    ykp_set_extflag_SERIAL_API_VISIBLE(cfg, true);
    ykp_set_extflag_ALLOW_UPDATE(cfg, true);
    int cr = opt(argc, argv, "nocr") == NULL;
    if (strcmp(mode, "hotp") == 0) {
      ykp_set_tktflag_OATH_HOTP(cfg, true);
      ykp_set_tktflag_APPEND_CR(cfg, cr);
      ykp_set_extflag_FAST_TRIG(cfg, true);
      if ((v = opt(argc, argv, "digits")) && atoi(v) == 8) ykp_set_cfgflag_OATH_HOTP8(cfg, true);
      if ((v = opt(argc, argv, "key"))) ykp_HMAC_key_from_hex(cfg, v);
      if ((v = opt(argc, argv, "tokenid")) && *v) {
        unsigned char f[16]; size_t n = unhex(v, f, sizeof f);
        ykp_set_fixed(cfg, f, n);
        ykp_set_cfgflag_OATH_FIXED_MODHEX1(cfg, true);
        ykp_set_cfgflag_OATH_FIXED_MODHEX2(cfg, true);
      }
      if ((v = opt(argc, argv, "imf"))) ykp_set_oath_imf(cfg, strtoul(v, NULL, 10));
    } else if (strcmp(mode, "yubico") == 0) {
      ykp_set_tktflag_APPEND_CR(cfg, cr);
      ykp_set_extflag_FAST_TRIG(cfg, true);
      if ((v = opt(argc, argv, "fixed"))) { unsigned char f[16]; size_t n = unhex(v, f, sizeof f); ykp_set_fixed(cfg, f, n); }
      if ((v = opt(argc, argv, "uid"))) { unsigned char u[6]; size_t n = unhex(v, u, sizeof u); ykp_set_uid(cfg, u, n); }
      if ((v = opt(argc, argv, "aes"))) ykp_AES_key_from_hex(cfg, v);
    } else if (strcmp(mode, "chal") == 0) {
      ykp_set_tktflag_CHAL_RESP(cfg, true);
      ykp_set_cfgflag_CHAL_HMAC(cfg, true);
      ykp_set_cfgflag_HMAC_LT64(cfg, true);
      if (opt(argc, argv, "touch")) ykp_set_cfgflag_CHAL_BTN_TRIG(cfg, true);
      if ((v = opt(argc, argv, "key"))) ykp_HMAC_key_from_hex(cfg, v);
    } else {
      fprintf(stderr, "unknown mode %s\n", mode); return 2;
    }
    if ((v = opt(argc, argv, "acc"))) { unsigned char a[6]; unhex(v, a, sizeof a); ykp_set_access_code(cfg, a, 6); }
    memcpy(buf, ykp_core_config(cfg), sizeof buf);
    unsigned short crc = ~yubikey_crc16(buf, sizeof buf - 2);  /* what yk_write_command does */
    buf[50] = crc & 0xff; buf[51] = crc >> 8;
    ykp_free_config(cfg);
  }
  printf("config=");
  for (size_t i = 0; i < sizeof buf; i++) printf("%02x", buf[i]);
  unsigned char frame[70]; memset(frame, 0, sizeof frame);
  memcpy(frame, buf, sizeof buf);
  if ((v = opt(argc, argv, "cur"))) unhex(v, frame + 52, 6);
  unsigned short fcrc = yubikey_crc16(frame, 64);
  frame[64] = command; frame[65] = fcrc & 0xff; frame[66] = fcrc >> 8;
  printf("\nframe=");
  for (int i = 0; i < 70; i++) printf("%02x", frame[i]);
  printf("\n");
  return 0;
}
