#include "base/memory_types.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_set>

#include "base/strong_int.h"

namespace cocomem {
namespace {

// --- compile-time type safety -------------------------------------------------------------
//
// A requires-expression only answers "false" for an ill-formed expression when the expression
// depends on template parameters (outside a template clang rejects the program instead), so
// the checks go through these concepts: `Addable<Gfn, Gfn>` asks whether `Gfn{} + Gfn{}`
// would compile.

template <typename A, typename B>
concept Addable = requires(A a, B b) {
  a + b;
};
template <typename A, typename B>
concept Subtractable = requires(A a, B b) {
  a - b;
};
template <typename A, typename B>
concept EqualityComparable = requires(A a, B b) {
  a == b;
};
template <typename A, typename B>
concept LessComparable = requires(A a, B b) {
  a < b;
};

// Offsets are plain integers; two addresses do not add.
static_assert(!Addable<Gfn, Gfn>);
static_assert(Addable<Gfn, uint64_t>);
static_assert(std::is_same_v<decltype(Gfn{} + uint64_t{1}), Gfn>);
// Gfn - Gfn is a page count, Gfn - n is a Gfn.
static_assert(std::is_same_v<decltype(Gfn{} - Gfn{}), uint64_t>);
static_assert(std::is_same_v<decltype(Gfn{} - uint64_t{1}), Gfn>);
// Different kinds never mix (positive controls first, so the concepts are known to work).
static_assert(EqualityComparable<Gfn, Gfn> && LessComparable<Gfn, Gfn>);
static_assert(Subtractable<Gfn, Gfn>);
static_assert(!EqualityComparable<Gfn, Pfn>);
static_assert(!EqualityComparable<Gpa, Hpa>);
static_assert(!LessComparable<Gfn, Pfn>);
static_assert(!Addable<Gfn, Pfn>);
static_assert(!Subtractable<Gfn, Pfn>);
static_assert(!Subtractable<Gfn, Gpa>);
// No implicit conversion from or to the representation.
static_assert(!std::is_convertible_v<uint64_t, Gfn>);
static_assert(!std::is_convertible_v<Gfn, uint64_t>);
static_assert(!std::is_convertible_v<Gfn, Pfn>);
static_assert(!EqualityComparable<Gfn, uint64_t>);
static_assert(std::is_constructible_v<Gfn, uint64_t>);
static_assert(std::is_trivially_copyable_v<Gfn>);
static_assert(sizeof(Gfn) == sizeof(uint64_t));
// The conversions only go where they should.
static_assert(!std::is_invocable_v<decltype(&GpaOf), Pfn>);
static_assert(!std::is_invocable_v<decltype(&HpaOf), Gfn>);
// PageIndex kinds: the page-granular ones only.
static_assert(PageIndex<Gfn> && PageIndex<Pfn> && PageIndex<PgOff>);
static_assert(!PageIndex<Gpa> && !PageIndex<Hpa> && !PageIndex<uint64_t>);

// Everything is constexpr.
static_assert(GpaOf(Gfn(3)) == Gpa(3 * kPageSize));
static_assert(PagesIn(PageOrder::k1G) == 262144);
static_assert(AlignDown(Gfn(513), PageOrder::k2M) == Gfn(512));

// --- StrongInt -----------------------------------------------------------------------------

TEST(StrongIntTest, DefaultIsZero) {
  EXPECT_EQ(Gfn{}.value(), 0u);
  EXPECT_EQ(Gfn{}, Gfn(0));
}

TEST(StrongIntTest, Arithmetic) {
  Gfn a(100);
  EXPECT_EQ(a + 5, Gfn(105));
  EXPECT_EQ(a - 5, Gfn(95));
  EXPECT_EQ(Gfn(150) - a, 50u);
  a += 10;
  EXPECT_EQ(a, Gfn(110));
  a -= 20;
  EXPECT_EQ(a, Gfn(90));
  Gfn& ref = ++a;
  EXPECT_EQ(&ref, &a);
  EXPECT_EQ(a, Gfn(91));
  Gfn& ref2 = (a += 1);
  EXPECT_EQ(&ref2, &a);
}

TEST(StrongIntTest, WrapsLikeTheRepresentation) {
  Gfn top(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(top + 1, Gfn(0));
  EXPECT_EQ(Gfn(0) - 1, top);
}

TEST(StrongIntTest, Comparisons) {
  Pfn a(1), b(2), c(2);
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(a <= b);
  EXPECT_TRUE(b > a);
  EXPECT_TRUE(b >= c);
  EXPECT_TRUE(b == c);
  EXPECT_TRUE(a != b);
  EXPECT_FALSE(b < c);
  EXPECT_EQ(a <=> b, std::strong_ordering::less);
  EXPECT_EQ(b <=> c, std::strong_ordering::equal);
}

TEST(StrongIntTest, OtherRepresentation) {
  using Small = StrongInt<struct SmallTag, uint32_t>;
  static_assert(std::is_same_v<Small::rep_type, uint32_t>);
  Small s(7);
  EXPECT_EQ((s + 3).value(), 10u);
  EXPECT_EQ(Small(0xffffffffu) + 1, Small(0));
}

TEST(StrongIntTest, Hash) {
  std::unordered_set<Gfn> set;
  set.insert(Gfn(1));
  set.insert(Gfn(2));
  set.insert(Gfn(1));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(Gfn(2)));
  EXPECT_FALSE(set.contains(Gfn(3)));
  EXPECT_EQ(std::hash<Gfn>()(Gfn(12345)), std::hash<uint64_t>()(12345));
}

// --- address conversions -------------------------------------------------------------------

TEST(MemoryTypesTest, PageConstants) {
  EXPECT_EQ(kPageShift, 12u);
  EXPECT_EQ(kPageSize, 4096u);
}

TEST(MemoryTypesTest, GfnGpaRoundTrip) {
  for (uint64_t g : {uint64_t{0}, uint64_t{1}, uint64_t{0x12345}, (uint64_t{1} << 40) - 1,
                     (uint64_t{1} << 52) - 1}) {
    SCOPED_TRACE(g);
    EXPECT_EQ(GpaOf(Gfn(g)), Gpa(g << 12));
    EXPECT_EQ(GfnOf(GpaOf(Gfn(g))), Gfn(g));
  }
  // Byte offsets within a page are dropped.
  EXPECT_EQ(GfnOf(Gpa(0x1fff)), Gfn(1));
  EXPECT_EQ(GfnOf(Gpa(0x2000)), Gfn(2));
  EXPECT_EQ(GpaOf(GfnOf(Gpa(0x12345678))), Gpa(0x12345000));
}

TEST(MemoryTypesTest, PfnHpaRoundTrip) {
  for (uint64_t p : {uint64_t{0}, uint64_t{7}, uint64_t{0xabcdef}, (uint64_t{1} << 52) - 1}) {
    SCOPED_TRACE(p);
    EXPECT_EQ(HpaOf(Pfn(p)), Hpa(p * kPageSize));
    EXPECT_EQ(PfnOf(HpaOf(Pfn(p))), Pfn(p));
  }
  EXPECT_EQ(PfnOf(Hpa(4095)), Pfn(0));
  EXPECT_EQ(PfnOf(Hpa(4096)), Pfn(1));
  EXPECT_EQ(HpaOf(PfnOf(Hpa(0xdeadbeef))), Hpa(0xdeadb000));
}

TEST(MemoryTypesTest, PgOffByteRoundTrip) {
  for (uint64_t o : {uint64_t{0}, uint64_t{1}, uint64_t{511}, uint64_t{1} << 30}) {
    SCOPED_TRACE(o);
    EXPECT_EQ(ByteOf(PgOff(o)), o << 12);
    EXPECT_EQ(PgOffOfByte(ByteOf(PgOff(o))), PgOff(o));
  }
  EXPECT_EQ(PgOffOfByte(4095), PgOff(0));
  EXPECT_EQ(PgOffOfByte(4096), PgOff(1));
  EXPECT_EQ(PgOffOfByte(2 * 4096 + 17), PgOff(2));
  EXPECT_EQ(ByteOf(PgOffOfByte(0x200123)), 0x200000u);
}

TEST(MemoryTypesTest, IsPageAligned) {
  EXPECT_TRUE(IsPageAligned(0));
  EXPECT_TRUE(IsPageAligned(4096));
  EXPECT_TRUE(IsPageAligned(uint64_t{1} << 40));
  EXPECT_FALSE(IsPageAligned(1));
  EXPECT_FALSE(IsPageAligned(4095));
  EXPECT_FALSE(IsPageAligned(4097));
}

// --- page orders ---------------------------------------------------------------------------

TEST(PageOrderTest, Sizes) {
  EXPECT_EQ(OrderBits(PageOrder::k4K), 0u);
  EXPECT_EQ(OrderBits(PageOrder::k2M), 9u);
  EXPECT_EQ(OrderBits(PageOrder::k1G), 18u);
  EXPECT_EQ(PagesIn(PageOrder::k4K), 1u);
  EXPECT_EQ(PagesIn(PageOrder::k2M), 512u);
  EXPECT_EQ(PagesIn(PageOrder::k1G), 512u * 512u);
  EXPECT_EQ(BytesIn(PageOrder::k4K), 4096u);
  EXPECT_EQ(BytesIn(PageOrder::k2M), 2u * 1024 * 1024);
  EXPECT_EQ(BytesIn(PageOrder::k1G), 1024u * 1024 * 1024);
}

TEST(PageOrderTest, FromBits) {
  EXPECT_EQ(PageOrderFromBits(0), std::optional<PageOrder>(PageOrder::k4K));
  EXPECT_EQ(PageOrderFromBits(9), std::optional<PageOrder>(PageOrder::k2M));
  EXPECT_EQ(PageOrderFromBits(18), std::optional<PageOrder>(PageOrder::k1G));
  for (unsigned bits : {1u, 8u, 10u, 12u, 17u, 19u, 21u, 27u, 30u, 64u, ~0u}) {
    SCOPED_TRACE(bits);
    EXPECT_EQ(PageOrderFromBits(bits), std::nullopt);
  }
  // Round trip through OrderBits.
  for (PageOrder o : {PageOrder::k4K, PageOrder::k2M, PageOrder::k1G}) {
    EXPECT_EQ(PageOrderFromBits(OrderBits(o)), std::optional<PageOrder>(o));
  }
}

TEST(PageOrderTest, Names) {
  EXPECT_EQ(std::string_view(PageOrderName(PageOrder::k4K)), "4K");
  EXPECT_EQ(std::string_view(PageOrderName(PageOrder::k2M)), "2M");
  EXPECT_EQ(std::string_view(PageOrderName(PageOrder::k1G)), "1G");
}

TEST(PageOrderTest, IsAlignedTo) {
  EXPECT_TRUE(IsAlignedTo(Gfn(0), PageOrder::k1G));
  EXPECT_TRUE(IsAlignedTo(Gfn(12345), PageOrder::k4K));
  EXPECT_TRUE(IsAlignedTo(Gfn(512), PageOrder::k2M));
  EXPECT_FALSE(IsAlignedTo(Gfn(511), PageOrder::k2M));
  EXPECT_FALSE(IsAlignedTo(Gfn(513), PageOrder::k2M));
  EXPECT_TRUE(IsAlignedTo(Pfn(1024), PageOrder::k2M));
  EXPECT_FALSE(IsAlignedTo(Pfn(1024), PageOrder::k1G));
  EXPECT_TRUE(IsAlignedTo(Pfn(uint64_t{1} << 18), PageOrder::k1G));
  EXPECT_TRUE(IsAlignedTo(PgOff(3 * (uint64_t{1} << 18)), PageOrder::k1G));
  EXPECT_FALSE(IsAlignedTo(PgOff((uint64_t{1} << 18) + 512), PageOrder::k1G));
  EXPECT_TRUE(IsAlignedTo(PgOff((uint64_t{1} << 18) + 512), PageOrder::k2M));
}

TEST(PageOrderTest, AlignDown) {
  EXPECT_EQ(AlignDown(Gfn(0), PageOrder::k2M), Gfn(0));
  EXPECT_EQ(AlignDown(Gfn(511), PageOrder::k2M), Gfn(0));
  EXPECT_EQ(AlignDown(Gfn(512), PageOrder::k2M), Gfn(512));
  EXPECT_EQ(AlignDown(Gfn(1000), PageOrder::k2M), Gfn(512));
  EXPECT_EQ(AlignDown(Gfn(1000), PageOrder::k4K), Gfn(1000));
  EXPECT_EQ(AlignDown(Pfn((uint64_t{1} << 18) + 5), PageOrder::k1G), Pfn(uint64_t{1} << 18));
  EXPECT_EQ(AlignDown(PgOff(262143), PageOrder::k1G), PgOff(0));
  EXPECT_EQ(AlignDown(Gfn(std::numeric_limits<uint64_t>::max()), PageOrder::k2M),
            Gfn(std::numeric_limits<uint64_t>::max() - 511));
  // AlignDown always yields an aligned value no greater than its input.
  for (uint64_t v = 0; v < 3000; v += 37) {
    for (PageOrder o : {PageOrder::k4K, PageOrder::k2M, PageOrder::k1G}) {
      Gfn d = AlignDown(Gfn(v), o);
      EXPECT_TRUE(IsAlignedTo(d, o));
      EXPECT_LE(d, Gfn(v));
      EXPECT_LT(Gfn(v) - d, PagesIn(o));
    }
  }
}

}  // namespace
}  // namespace cocomem
