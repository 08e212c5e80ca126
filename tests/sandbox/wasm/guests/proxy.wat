;; Test guest for the core-module ABI: forwards each invocation to the host function
;; named by the operation (`log`, `http-request`, `model-call`, or anything else) with
;; the input as its JSON arguments, and returns what the host answered. Operation `spin`
;; loops forever; `grow` grows memory until it cannot, then traps.
(module
  (import "symphony" "call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 64))
  (data (i32.const 0) "spin")
  (data (i32.const 8) "grow")

  (func $alloc (export "symphony_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (local.get $ptr))

  (func (export "symphony_reset") (global.set $heap (i32.const 64)))

  (func $named (param $ptr i32) (param $len i32) (param $name i32) (result i32)
    (i32.and (i32.eq (local.get $len) (i32.const 4))
             (i32.eq (i32.load (local.get $ptr)) (i32.load (local.get $name)))))

  (func (export "symphony_invoke")
        (param $op i32) (param $op_len i32) (param $in i32) (param $in_len i32) (param $ret i32) (result i32)
    (if (call $named (local.get $op) (local.get $op_len) (i32.const 0))
      (then (loop $forever (br $forever))))
    (if (call $named (local.get $op) (local.get $op_len) (i32.const 8))
      (then (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))
    ;; status 0 (ok) stays ok; 1 (denied) and 2 (failed) become an error result
    (i32.ne
      (call $call (local.get $op) (local.get $op_len) (local.get $in) (local.get $in_len) (local.get $ret))
      (i32.const 0)))
)
