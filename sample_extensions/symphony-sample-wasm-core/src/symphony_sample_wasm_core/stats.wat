;; A Symphony extension as a plain core module, written by hand in WAT.
;;
;; It follows the core-module ABI (docs/wasm-extensions.md): it exports `memory`,
;; `symphony_alloc`, `symphony_invoke` and `symphony_reset`, and imports the host function `symphony.call`.
;;
;; Operation `stats`: the byte and line count of its input text, as
;; {"bytes":N,"lines":M}; it also logs one line through the host.
(module
  (import "symphony" "call" (func $host_call (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  ;; Static data lives below 1024; the bump allocator hands out memory above it.
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 0) "log")
  (data (i32.const 16) "{\"level\":\"info\",\"message\":\"stats from a core module\"}")
  (data (i32.const 128) "unknown operation; this module offers stats")
  (data (i32.const 192) "stats")
  (data (i32.const 208) "{\"bytes\":")
  (data (i32.const 224) ",\"lines\":")

  ;; Bump allocator, 8-byte aligned; grows memory as needed and traps when it cannot.
  (func $alloc (export "symphony_alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.add (i32.div_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                                               (i32.const 65536))
                                    (i32.const 1)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; Called by the host before each invocation: nothing from the last one is needed any more.
  (func (export "symphony_reset")
    (global.set $heap (i32.const 1024)))

  ;; Writes the decimal digits of $n at $dst; returns the address after the last digit.
  (func $utoa (param $dst i32) (param $n i32) (result i32)
    (local $digits i32) (local $t i32) (local $pos i32)
    (local.set $t (local.get $n))
    (loop $count
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count (i32.ne (local.get $t) (i32.const 0))))
    (local.set $pos (i32.add (local.get $dst) (local.get $digits)))
    (loop $write
      (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
      (i32.store8 (local.get $pos) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $write (i32.ne (local.get $n) (i32.const 0))))
    (i32.add (local.get $dst) (local.get $digits)))

  (func $is_stats (param $ptr i32) (param $len i32) (result i32)
    (if (i32.ne (local.get $len) (i32.const 5)) (then (return (i32.const 0))))
    (i32.and
      (i32.eq (i32.load (local.get $ptr)) (i32.load (i32.const 192)))
      (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.const 4))) (i32.load8_u (i32.const 196)))))

  (func (export "symphony_invoke")
        (param $op i32) (param $op_len i32) (param $in i32) (param $in_len i32) (param $ret i32) (result i32)
    (local $i i32) (local $lines i32) (local $out i32) (local $end i32) (local $scratch i32)
    (if (i32.eqz (call $is_stats (local.get $op) (local.get $op_len)))
      (then
        (i32.store (local.get $ret) (i32.const 128))
        (i32.store offset=4 (local.get $ret) (i32.const 43))
        (return (i32.const 1))))
    ;; Count newlines.
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $in_len)))
        (if (i32.eq (i32.load8_u (i32.add (local.get $in) (local.get $i))) (i32.const 10))
          (then (local.set $lines (i32.add (local.get $lines) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    ;; Log through the host (the result is ignored; logging cannot be denied).
    (local.set $scratch (call $alloc (i32.const 8)))
    (drop (call $host_call (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 53) (local.get $scratch)))
    ;; {"bytes":N,"lines":M}
    (local.set $out (call $alloc (i32.const 64)))
    (memory.copy (local.get $out) (i32.const 208) (i32.const 9))
    (local.set $end (call $utoa (i32.add (local.get $out) (i32.const 9)) (local.get $in_len)))
    (memory.copy (local.get $end) (i32.const 224) (i32.const 9))
    (local.set $end (call $utoa (i32.add (local.get $end) (i32.const 9)) (local.get $lines)))
    (i32.store8 (local.get $end) (i32.const 125))
    (local.set $end (i32.add (local.get $end) (i32.const 1)))
    (i32.store (local.get $ret) (local.get $out))
    (i32.store offset=4 (local.get $ret) (i32.sub (local.get $end) (local.get $out)))
    (i32.const 0))
)
