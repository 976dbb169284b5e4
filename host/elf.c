/*
 * A native module's ABI version, read from its file before anything of it
 * runs. dlopen runs a shared object's constructors (and those of the
 * libraries it pulls in) before dlsym can be asked anything, so a module
 * built for another ABI would run code in this process before being
 * refused. The version is the first field of the exported `dv8_module`
 * (dv8_module_t.abi_version): a plain constant the linker writes into the
 * file; the fields after it are pointers, which the loader relocates, so the
 * object lives in a relocated section (.data.rel.ro) but its first four
 * bytes are the file's as they are.
 *
 * Found the way the loader would: the dynamic symbol table (.dynsym, and
 * the string table its sh_link names) gives the symbol's address, and the
 * PT_LOAD segment that maps that address gives its place in the file. Only
 * objects of this machine's own class, byte order and machine are read
 * (dlopen would refuse the others anyway). Every offset and size comes from
 * the file and is checked against the file's size before it is used.
 *
 * Threads: any; reads the descriptor with pread and keeps nothing.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

/* Section and symbol tables past these sizes are not a module's. */
#define MAX_SECTIONS 4096
#define MAX_TABLE_BYTES (64u << 20)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#elif defined(__arm__)
#define NATIVE_MACHINE EM_ARM
#elif defined(__riscv)
#define NATIVE_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#endif

typedef ElfW(Ehdr) ehdr_t;
typedef ElfW(Phdr) phdr_t;
typedef ElfW(Shdr) shdr_t;
typedef ElfW(Sym) sym_t;

/* len bytes at off, all inside a file of size bytes: 0, or -1 (why set). */
static int read_at(int fd, uint64_t size, uint64_t off, void *buf, size_t len,
                   const char **why) {
  if (off > size || len > size - off) {
    *why = "a table or a symbol lies outside the file (truncated or damaged)";
    return -1;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *why = n < 0 ? strerror(errno) : "the file is shorter than it says";
      return -1;
    }
    done += (size_t)n;
  }
  return 0;
}

/* A table of count entries of size bytes at off, malloc'd; NULL (why set). */
static void *read_table(int fd, uint64_t size, uint64_t off, uint64_t count,
                        size_t entsize, const char **why) {
  if (count == 0 || count > MAX_TABLE_BYTES / entsize) {
    *why = "a table of the file has no entries or is implausibly large";
    return NULL;
  }
  void *table = malloc((size_t)count * entsize);
  if (table == NULL) {
    *why = "out of memory";
    return NULL;
  }
  if (read_at(fd, size, off, table, (size_t)count * entsize, why) != 0) {
    free(table);
    return NULL;
  }
  return table;
}

static int check_header(const ehdr_t *eh, const char **why) {
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
    *why = "not an ELF file";
    return -1;
  }
  if (eh->e_ident[EI_CLASS] !=
          (__ELF_NATIVE_CLASS == 64 ? ELFCLASS64 : ELFCLASS32) ||
      eh->e_ident[EI_DATA] != NATIVE_DATA
#ifdef NATIVE_MACHINE
      || eh->e_machine != NATIVE_MACHINE
#endif
  ) {
    *why = "built for another kind of machine";
    return -1;
  }
  if (eh->e_type != ET_DYN) {
    *why = "not a shared object";
    return -1;
  }
  if (eh->e_shentsize != sizeof(shdr_t) || eh->e_phentsize != sizeof(phdr_t) ||
      eh->e_shnum == 0 || eh->e_shnum > MAX_SECTIONS || eh->e_phnum == 0 ||
      eh->e_phnum >= PN_XNUM) {
    *why = "its section or program headers are missing or malformed";
    return -1;
  }
  return 0;
}

/* The file offset of the len bytes at address addr, through the PT_LOAD
 * segment that maps them: 1 (found, *off set), 0 (in a segment but past
 * its file part: zero-filled memory), -1 (no segment maps them). */
static int file_offset(const phdr_t *ph, size_t n, uint64_t addr, size_t len,
                       uint64_t *off) {
  for (size_t i = 0; i < n; i++) {
    if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr)
      continue;
    uint64_t rel = addr - ph[i].p_vaddr;
    if (rel > ph[i].p_memsz || len > ph[i].p_memsz - rel)
      continue;
    if (rel > ph[i].p_filesz || len > ph[i].p_filesz - rel)
      return 0;
    *off = ph[i].p_offset + rel;
    return 1;
  }
  return -1;
}

/* The defined, exported data symbol named name in the dynamic symbol
 * table: 1 (*sym set), 0 (none), -1 (why set). */
static int find_symbol(int fd, uint64_t size, const shdr_t *sh, size_t nsh,
                       const char *name, sym_t *out, const char **why) {
  const shdr_t *dynsym = NULL;
  for (size_t i = 0; i < nsh && dynsym == NULL; i++)
    if (sh[i].sh_type == SHT_DYNSYM)
      dynsym = &sh[i];
  if (dynsym == NULL)
    return 0; /* nothing exported at all */
  if (dynsym->sh_entsize != sizeof(sym_t) || dynsym->sh_link >= nsh ||
      sh[dynsym->sh_link].sh_type != SHT_STRTAB) {
    *why = "its dynamic symbol table is malformed";
    return -1;
  }
  const shdr_t *strtab = &sh[dynsym->sh_link];
  sym_t *syms = read_table(fd, size, dynsym->sh_offset,
                           dynsym->sh_size / sizeof(sym_t), sizeof(sym_t), why);
  if (syms == NULL)
    return -1;
  char *strs = read_table(fd, size, strtab->sh_offset, strtab->sh_size, 1, why);
  if (strs == NULL) {
    free(syms);
    return -1;
  }
  size_t nsyms = dynsym->sh_size / sizeof(sym_t);
  size_t want = strlen(name) + 1;
  int found = 0;
  for (size_t i = 0; i < nsyms && !found; i++) {
    const sym_t *s = &syms[i];
    int bind = ELF64_ST_BIND(s->st_info); /* ELF32_ST_BIND is the same */
    if (s->st_name >= strtab->sh_size || want > strtab->sh_size - s->st_name ||
        memcmp(strs + s->st_name, name, want) != 0)
      continue;
    if (s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE ||
        (bind != STB_GLOBAL && bind != STB_WEAK))
      continue; /* a reference to another object's, not this one's */
    *out = *s;
    found = 1;
  }
  free(strs);
  free(syms);
  return found;
}

int dv8__elf_module_abi(int fd, uint32_t *abi, const char **why) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *why = strerror(errno);
    return DV8_ENOMODULE;
  }
  uint64_t size = (uint64_t)st.st_size;
  ehdr_t eh;
  if (size < sizeof(eh)) {
    *why = "not an ELF file (too short)";
    return DV8_ENOMODULE;
  }
  if (read_at(fd, size, 0, &eh, sizeof(eh), why) != 0 ||
      check_header(&eh, why) != 0)
    return DV8_ENOMODULE;
  shdr_t *sh =
      read_table(fd, size, eh.e_shoff, eh.e_shnum, sizeof(shdr_t), why);
  if (sh == NULL)
    return DV8_ENOMODULE;
  phdr_t *ph =
      read_table(fd, size, eh.e_phoff, eh.e_phnum, sizeof(phdr_t), why);
  if (ph == NULL) {
    free(sh);
    return DV8_ENOMODULE;
  }
  sym_t sym;
  int rc = DV8_ENOMODULE;
  int found = find_symbol(fd, size, sh, eh.e_shnum, "dv8_module", &sym, why);
  uint64_t off;
  if (found == 0) {
    *why = "it does not export the symbol dv8_module";
    rc = DV8_ENOSYM;
  } else if (found == 1 && sym.st_size < sizeof(uint32_t)) {
    *why = "its dv8_module is too small to be a dv8_module_t";
    rc = DV8_ENOSYM;
  } else if (found == 1) {
    int where = file_offset(ph, eh.e_phnum, sym.st_value, sizeof(*abi), &off);
    if (where == 0) { /* zero-filled: an ABI of 0 */
      *abi = 0;
      rc = 0;
    } else if (where < 0) {
      *why = "its dv8_module lies in no loadable segment";
    } else if (read_at(fd, size, off, abi, sizeof(*abi), why) == 0) {
      rc = 0;
    }
  }
  free(ph);
  free(sh);
  return rc;
}
