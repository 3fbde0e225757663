// IntervalMap<Key, Value>: disjoint half-open runs [start, end) -> Value, always canonical.
//
// Invariant (checked by IsCanonical): runs are disjoint and non-empty, and two runs that
// touch never carry equal values: Assign merges them. Keys may be left uncovered (gaps).
// Lookup and Assign are O(log n + runs replaced); the map stays small when attributes are
// uniform, however large the key space (2^40 pages is one run).
//
// Not thread-safe: the owner's lock guards it.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>

#include "base/check.h"

namespace cocomem {

template <typename Key, typename Value>
class IntervalMap {
  struct Node {
    Key end;
    Value value;
  };
  using Tree = std::map<Key, Node>;

 public:
  struct Run {
    Key start;
    Key end;
    const Value& value;
  };

  class const_iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = Run;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Run;

    const_iterator() = default;
    Run operator*() const { return Run{it_->first, it_->second.end, it_->second.value}; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator& operator--() {
      --it_;
      return *this;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class IntervalMap;
    explicit const_iterator(typename Tree::const_iterator it) : it_(it) {}
    typename Tree::const_iterator it_;
  };

  const_iterator begin() const { return const_iterator(tree_.begin()); }
  const_iterator end() const { return const_iterator(tree_.end()); }
  size_t run_count() const { return tree_.size(); }
  bool empty() const { return tree_.empty(); }
  void Clear() { tree_.clear(); }

  // The run containing `k`, or end().
  const_iterator FindRun(Key k) const { return const_iterator(FindNode(k)); }

  std::optional<Value> Lookup(Key k) const {
    auto it = FindNode(k);
    if (it == tree_.end()) return std::nullopt;
    return it->second.value;
  }

  // True iff every key of [start, end) is covered and maps to `v`. Empty ranges are true.
  bool AllEqual(Key start, Key end, const Value& v) const {
    if (!(start < end)) return true;
    auto it = FindNode(start);
    return it != tree_.end() && it->second.value == v && !(it->second.end < end);
  }

  // True iff [start, end) is fully covered (by any values).
  bool Covers(Key start, Key end) const {
    Key at = start;
    for (auto it = FindNode(start); at < end; ++it) {
      if (it == tree_.end() || at < it->first) return false;
      at = it->second.end;
    }
    return true;
  }

  // Calls fn(run_start, run_end, value) for each covered piece of [start, end), clipped.
  template <typename Fn>
  void ForEachIn(Key start, Key end, Fn&& fn) const {
    if (!(start < end)) return;
    auto it = tree_.upper_bound(start);
    if (it != tree_.begin() && start < std::prev(it)->second.end) --it;
    for (; it != tree_.end() && it->first < end; ++it) {
      Key s = it->first < start ? start : it->first;
      Key e = end < it->second.end ? end : it->second.end;
      fn(s, e, it->second.value);
    }
  }

  // Sets [start, end) to `v`, merging with equal neighbours.
  void Assign(Key start, Key end, const Value& v) {
    if (!(start < end)) return;
    std::optional<std::pair<Key, Node>> left, right;
    Cut(start, end, &left, &right);
    Key new_start = start;
    Key new_end = end;
    if (left) {
      if (left->second.value == v) {
        new_start = left->first;
      } else {
        tree_.emplace(left->first, left->second);
      }
    } else if (auto prev = PrevTouching(start); prev != tree_.end() && prev->second.value == v) {
      new_start = prev->first;
      tree_.erase(prev);
    }
    if (right) {
      if (right->second.value == v) {
        new_end = right->second.end;
      } else {
        tree_.emplace(right->first, right->second);
      }
    } else if (auto next = tree_.find(end); next != tree_.end() && next->second.value == v) {
      new_end = next->second.end;
      tree_.erase(next);
    }
    tree_.emplace(new_start, Node{new_end, v});
  }

  // Uncovers [start, end).
  void Erase(Key start, Key end) {
    if (!(start < end)) return;
    std::optional<std::pair<Key, Node>> left, right;
    Cut(start, end, &left, &right);
    if (left) tree_.emplace(left->first, left->second);
    if (right) tree_.emplace(right->first, right->second);
  }

  // The data-structure invariant; tests and invariant checkers call it.
  bool IsCanonical() const {
    const Node* prev = nullptr;
    Key prev_end{};
    for (const auto& [s, n] : tree_) {
      if (!(s < n.end)) return false;
      if (prev) {
        if (s < prev_end) return false;
        if (s == prev_end && prev->value == n.value) return false;
      }
      prev = &n;
      prev_end = n.end;
    }
    return true;
  }

 private:
  typename Tree::const_iterator FindNode(Key k) const {
    auto it = tree_.upper_bound(k);
    if (it == tree_.begin()) return tree_.end();
    --it;
    return k < it->second.end ? it : tree_.end();
  }

  // The run ending exactly at `k`, or end().
  typename Tree::iterator PrevTouching(Key k) {
    auto it = tree_.lower_bound(k);
    if (it == tree_.begin()) return tree_.end();
    --it;
    return it->second.end == k ? it : tree_.end();
  }

  // Removes every run overlapping [start, end); the parts sticking out on either side are
  // returned (not reinserted) so the caller can merge them.
  void Cut(Key start, Key end, std::optional<std::pair<Key, Node>>* left,
           std::optional<std::pair<Key, Node>>* right) {
    auto it = tree_.upper_bound(start);
    if (it != tree_.begin() && start < std::prev(it)->second.end) --it;
    while (it != tree_.end() && it->first < end) {
      if (it->first < start) left->emplace(it->first, Node{start, it->second.value});
      if (end < it->second.end) right->emplace(end, Node{it->second.end, it->second.value});
      it = tree_.erase(it);
    }
  }

  Tree tree_;
};

}  // namespace cocomem
