/* The builtin JS sources, embedded in the binary as read-only data. */
  .section .rodata
  .global dv8_js_bootstrap, dv8_js_bootstrap_end
dv8_js_bootstrap:
  .incbin "contexts/bootstrap.js"
dv8_js_bootstrap_end:
  .global dv8_js_inspect, dv8_js_inspect_end
dv8_js_inspect:
  .incbin "contexts/inspect.js"
dv8_js_inspect_end:
  .global dv8_js_repl, dv8_js_repl_end
dv8_js_repl:
  .incbin "contexts/repl.js"
dv8_js_repl_end:
  .global dv8_js_serdes, dv8_js_serdes_end
dv8_js_serdes:
  .incbin "serdes/serdes.js"
dv8_js_serdes_end:
  .global dv8_js_thread, dv8_js_thread_end
dv8_js_thread:
  .incbin "contexts/thread.js"
dv8_js_thread_end:
  .global dv8_js_helper, dv8_js_helper_end
dv8_js_helper:
  .incbin "contexts/helper.js"
dv8_js_helper_end:
  .global dv8_js_web, dv8_js_web_end
dv8_js_web:
  .incbin "contexts/web.js"
dv8_js_web_end:
  .global dv8_js_url, dv8_js_url_end
dv8_js_url:
  .incbin "contexts/url.js"
dv8_js_url_end:
  .section .note.GNU-stack,"",@progbits
