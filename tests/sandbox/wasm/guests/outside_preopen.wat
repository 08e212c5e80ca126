;; Test guest for the shutdown abort (issue 10, defect 2): every invocation asks WASI to
;; open ../../../../etc/passwd relative to its first preopen (fd 3). WASI refuses, and the
;; module returns the error result "no access". The refused open runs on Wasmtime's tokio
;; threads, which is what used to abort the host when the store was freed at interpreter exit.
;; Without a preopen at fd 3 it returns the error "no preopen" instead.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 0) "../../../../etc/passwd")
  (data (i32.const 64) "no access")
  (data (i32.const 96) "{}")
  (data (i32.const 128) "no preopen")

  (func (export "symphony_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $ptr))

  (func (export "symphony_reset") (global.set $heap (i32.const 1024)))

  (func (export "symphony_invoke") (param i32 i32 i32 i32) (param $ret i32) (result i32)
    (if (call $prestat (i32.const 3) (i32.const 256))
      (then
        (i32.store (local.get $ret) (i32.const 128))
        (i32.store offset=4 (local.get $ret) (i32.const 10))
        (return (i32.const 1))))
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 22) (i32.const 0)
                         (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 200))
      (then
        (i32.store (local.get $ret) (i32.const 64))
        (i32.store offset=4 (local.get $ret) (i32.const 9))
        (return (i32.const 1))))
    (i32.store (local.get $ret) (i32.const 96))
    (i32.store offset=4 (local.get $ret) (i32.const 2))
    (i32.const 0)))
