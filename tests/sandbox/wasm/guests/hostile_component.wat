;; Test guest: a component written by hand, so it can pass the host's `log` what no
;; toolchain would: invalid UTF-8, a string outside its memory, a length of 4 GiB, a level
;; that is not in the enum. The operation's first letter picks the abuse; `ok` logs
;; nothing. Each abuse must end as a trap of this guest, never as a crash of the host.
(component
  (import "symphony:extension/host@0.1.0" (instance $host
    (type $levels (enum "debug" "info" "warning" "error"))
    (export "level" (type $level (eq $levels)))
    (export "log" (func (param "level" $level) (param "message" string)))))

  (core module $libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (global.get $heap))
      (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
      (local.get $ptr))
    (data (i32.const 0) "\ff\fe\fd not UTF-8")
    (data (i32.const 64) "{}"))
  (core instance $libc (instantiate $libc))
  (core func $log (canon lower (func $host "log") (memory (core memory $libc "memory"))))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (func $abuse (param $op i32) (param $letter i32) (param $level i32) (param $ptr i32) (param $len i32)
      (if (i32.eq (i32.load8_u (local.get $op)) (local.get $letter))
        (then (call $log (local.get $level) (local.get $ptr) (local.get $len)))))
    (func (export "invoke") (param $op i32) (param i32 i32 i32) (result i32)
      (call $abuse (local.get $op) (i32.const 117) (i32.const 1) (i32.const 0) (i32.const 16))      ;; u: invalid UTF-8
      (call $abuse (local.get $op) (i32.const 98) (i32.const 1) (i32.const 65530) (i32.const 100)) ;; b: beyond memory
      (call $abuse (local.get $op) (i32.const 104) (i32.const 1) (i32.const 0) (i32.const -1))     ;; h: 4 GiB long
      (call $abuse (local.get $op) (i32.const 108) (i32.const 9) (i32.const 64) (i32.const 2))     ;; l: no such level
      (i32.store (i32.const 512) (i32.const 0))
      (i32.store (i32.const 516) (i32.const 64))
      (i32.store (i32.const 520) (i32.const 2))
      (i32.const 512)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance (export "log" (func $log))))))

  (func (export "invoke") (param "operation" string) (param "input" string) (result (result string (error string)))
    (canon lift (core func $main "invoke") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc")))))
