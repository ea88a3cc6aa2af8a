/* The message constructor (spec P§5): the Alpine component "heraldConstructor" behind
   templates/constructor/editor.html. It keeps the step's content in `c` (every field of every
   sub-type, so switching types loses nothing), writes the channel payload of
   messaging/content.py into the hidden input (`json()`), and draws the live preview.

   Two ports of server code live here and must stay in step with it (the browser tests
   compare them): `analyze` = messaging/encoding.py (the SMS counter), `emailHtml` =
   messaging/content.py render_email_html (the e-mail preview).

   Load it with {% constructor_assets %}: a plain (not deferred) script, so the component is
   registered before Alpine starts; editors inserted later by htmx start on their own. */
(function () {
  "use strict";
  if (window.HeraldConstructor) return;

  // --- SMS encoding (messaging/encoding.py) ----------------------------------------------------
  const GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const GSM7_EXTENDED = "\f^{}\\[~]|€";
  const BASIC = new Set(Array.from(GSM7_BASIC));
  const EXTENDED = new Set(Array.from(GSM7_EXTENDED));
  const SMS_LIMITS = { gsm7: [160, 153], ucs2: [70, 67] };
  const SMS_LABELS = { gsm7: "7-bit extended", ucs2: "UCS-2" };

  function analyze(text) {
    text = text || "";
    const chars = Array.from(text); // code points, as Python iterates a str
    const gsm = chars.every((ch) => BASIC.has(ch) || EXTENDED.has(ch));
    const encoding = gsm ? "gsm7" : "ucs2";
    // GSM-7: extension characters take two septets; UCS-2: UTF-16 units (an emoji takes two).
    const characters = gsm ? chars.reduce((n, ch) => n + (EXTENDED.has(ch) ? 2 : 1), 0) : text.length;
    const [single, multi] = SMS_LIMITS[encoding];
    const segments = characters <= single ? (characters ? 1 : 0) : Math.ceil(characters / multi);
    return {
      encoding, characters, segments, limit: characters <= single ? single : multi,
      label: SMS_LABELS[encoding] + " (" + single + ") " + characters + " characters / " + segments + " SMS",
    };
  }

  // --- e-mail HTML (messaging/content.py render_email_html) -------------------------------------
  const FONT = "font-family:Arial,Helvetica,sans-serif;";
  const BUTTON_MARGINS = { left: "0", center: "0 auto", right: "0 0 0 auto" };
  const ALIGNS = ["left", "center", "right"];
  const URL_RE = /^https?:\/\/\S+$/i;
  const HEX = /^#[0-9A-Fa-f]{6}$/;
  const HEX_ANY = /^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$/;
  const BUTTON_COLOR = "#4f46e5";
  const SIMPLE_TYPES = ["text", "image", "button", "divider", "spacer", "social"];
  const CONTAINER_TYPES = ["columns", "wrapper"];
  const NETWORKS = {
    facebook: ["Facebook", "#1877f2"], x: ["X", "#000000"], instagram: ["Instagram", "#e1306c"],
    linkedin: ["LinkedIn", "#0a66c2"], youtube: ["YouTube", "#ff0000"], tiktok: ["TikTok", "#000000"],
    whatsapp: ["WhatsApp", "#25d366"], telegram: ["Telegram", "#229ed9"], website: ["Website", "#4b5563"],
  };
  const WRAPPER_BACKGROUND = "#f4f5f7";
  const WRAPPER_PADDING = 16;
  const COLUMN_IMAGE_WIDTHS = { 1: 536, 2: 260, 3: 168 };
  const COLUMN_WIDTHS = { 1: "100%", 2: "50%", 3: "33.33%" };
  const HEAD_STYLE = "<style>@media only screen and (max-width:480px){" +
    ".h-row{padding:8px 16px !important;}" +
    ".h-col{display:block !important;width:100% !important;padding:0 !important;}}</style>";
  const PREVIEW_WIDTHS = { regular: 600, wide: 800, phone: 375 };
  const PREVIEW_HEIGHT = 480;
  const TABLE = 'role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"';

  function esc(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  function safeUrl(value) {
    value = String(value || "").trim();
    return URL_RE.test(value) ? value : "";
  }
  function align(value, fallback) { return ALIGNS.includes(value) ? value : fallback; }
  function isObject(v) { return !!v && typeof v === "object" && !Array.isArray(v); }
  function longHex(value, fallback) {
    if (typeof value !== "string" || !HEX_ANY.test(value)) return fallback;
    return value.length === 4 ? "#" + Array.from(value.slice(1)).map((ch) => ch + ch).join("") : value;
  }
  function whole(value, fallback, low, high) {
    if (typeof value === "string" && /^\d+$/.test(value.trim())) value = parseInt(value.trim(), 10);
    if (!Number.isInteger(value)) value = fallback;
    return Math.min(Math.max(value, low), high);
  }
  function paragraphs(text) {
    text = String(text || "").replace(/\r\n/g, "\n").replace(/\r/g, "\n");
    return text.split(/\n[ \t]*\n/).map((p) => p.replace(/^\n+|\n+$/g, "")).filter((p) => p.trim());
  }
  function socialLinks(b) {
    const links = [];
    (Array.isArray(b.links) ? b.links : []).forEach((link) => {
      if (!isObject(link) || !Object.prototype.hasOwnProperty.call(NETWORKS, link.network)) return;
      const url = safeUrl(link.url);
      if (!url) return;
      const [name, color] = NETWORKS[link.network];
      let label = String(link.label || "").trim();
      if (!label) label = link.network === "website" ? url.replace(/^https?:\/\//i, "").split(/[/?#]/)[0] : name;
      links.push([label, url, color]);
    });
    return links;
  }
  function innerRows(blocks, width) {
    return (Array.isArray(blocks) ? blocks : [])
      .filter((b) => isObject(b) && !CONTAINER_TYPES.includes(b.type))
      .map((b) => blockHtml(b, width)).filter((html) => html)
      .map((html) => '<tr><td style="padding:6px 0;">' + html + "</td></tr>").join("");
  }

  function blockHtml(b, width) {
    width = width || 600;
    if (b.type === "text") {
      const a = align(b.align, "left");
      if (b.style === "heading") {
        const text = String(b.text || "").replace(/\r\n/g, "\n").replace(/\r/g, "\n").trim();
        return '<h1 style="margin:0 0 12px;' + FONT + "font-size:24px;line-height:1.3;font-weight:bold;color:#1c2333;" +
          "text-align:" + a + ';">' + text.split("\n").map(esc).join("<br>") + "</h1>";
      }
      const style = "margin:0 0 12px;" + FONT + "font-size:16px;line-height:1.5;color:#1c2333;text-align:" + a + ";";
      return paragraphs(b.text).map((p) => '<p style="' + style + '">' + p.split("\n").map(esc).join("<br>") + "</p>").join("");
    }
    if (b.type === "image") {
      const url = safeUrl(b.url);
      if (!url) return "";
      const given = Number.isInteger(b.width) && b.width > 0 && b.width <= 600 ? b.width : width;
      const img = '<img src="' + esc(url) + '" alt="' + esc(String(b.alt || "")) + '" width="' + Math.min(given, width) +
        '" style="display:block;max-width:100%;height:auto;border:0;margin:0 auto;">';
      const link = safeUrl(b.link);
      return link ? '<a href="' + esc(link) + '" target="_blank">' + img + "</a>" : img;
    }
    if (b.type === "button") {
      const url = safeUrl(b.url);
      const color = typeof b.color === "string" && HEX.test(b.color) ? b.color : BUTTON_COLOR;
      const a = align(b.align, "center");
      return '<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="' + a + '" ' +
        'style="margin:' + BUTTON_MARGINS[a] + ';"><tr><td style="border-radius:6px;background:' + color + ';">' +
        '<a href="' + esc(url) + '" target="_blank" style="display:inline-block;padding:12px 24px;' + FONT +
        'font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none;border-radius:6px;">' +
        esc(String(b.text || "")) + "</a></td></tr></table>";
    }
    if (b.type === "divider") return '<hr style="border:0;border-top:1px solid #dfe3ec;margin:8px 0;">';
    if (b.type === "spacer") {
      const h = whole(b.height, 24, 4, 200);
      return '<div style="height:' + h + "px;line-height:" + h + 'px;font-size:1px;">&nbsp;</div>';
    }
    if (b.type === "social") {
      const links = socialLinks(b);
      if (!links.length) return "";
      return '<div style="text-align:' + align(b.align, "center") + ';">' + links.map(([label, url, color]) =>
        '<a href="' + esc(url) + '" target="_blank" style="display:inline-block;margin:3px;padding:6px 14px;' +
        "border-radius:16px;background:" + color + ";" + FONT + "font-size:13px;font-weight:bold;line-height:18px;" +
        'color:#ffffff;text-decoration:none;">' + esc(label) + "</a>").join("") + "</div>";
    }
    if (b.type === "columns") {
      const columns = Array.isArray(b.columns) ? b.columns.slice(0, 3).map((c) => (Array.isArray(c) ? c : [])) : [];
      const n = columns.length;
      const cells = columns.map((column) => innerRows(column, COLUMN_IMAGE_WIDTHS[n] || width));
      if (!cells.some((rows) => rows)) return "";
      const tds = cells.map((rows, index) => {
        const padding = "padding:0 " + (index === n - 1 ? "0" : "8px") + " 0 " + (index === 0 ? "0" : "8px") + ";";
        return '<td class="h-col" width="' + COLUMN_WIDTHS[n] + '" valign="top" style="width:' + COLUMN_WIDTHS[n] +
          ";vertical-align:top;" + padding + '">' + (rows ? "<table " + TABLE + ">" + rows + "</table>" : "&nbsp;") + "</td>";
      });
      return "<table " + TABLE + ' style="width:100%;"><tr>' + tds.join("") + "</tr></table>";
    }
    if (b.type === "wrapper") {
      const rows = innerRows(b.blocks, width);
      if (!rows) return "";
      const background = longHex(b.background, WRAPPER_BACKGROUND);
      const padding = whole(b.padding, WRAPPER_PADDING, 0, 64);
      return "<table " + TABLE + ' bgcolor="' + background + '" style="width:100%;background:' + background + ";" +
        'border-radius:6px;"><tr><td style="padding:' + padding + 'px;"><table ' + TABLE + ">" + rows +
        "</table></td></tr></table>";
    }
    return "";
  }

  function emailHtml(blocks, subtitle) {
    subtitle = subtitle || "";
    const rows = (blocks || []).map((b) => (isObject(b) ? blockHtml(b) : ""))
      .filter((html) => html).map((html) => '<tr><td class="h-row" style="padding:8px 32px;">' + html + "</td></tr>");
    const preheader = subtitle.trim()
      ? '<div style="display:none;max-height:0;overflow:hidden;opacity:0;">' + esc(subtitle) + "</div>" : "";
    return '<!DOCTYPE html><html><head><meta charset="utf-8">' +
      '<meta name="viewport" content="width=device-width, initial-scale=1">' + HEAD_STYLE + "</head>" +
      '<body style="margin:0;padding:0;background:#f4f5f7;">' + preheader +
      '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" ' +
      'style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">' +
      '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" ' +
      'style="width:100%;max-width:600px;background:#ffffff;border-radius:8px;">' +
      '<tr><td style="height:24px;line-height:24px;font-size:1px;">&nbsp;</td></tr>' +
      rows.join("") +
      '<tr><td style="height:24px;line-height:24px;font-size:1px;">&nbsp;</td></tr>' +
      "</table></td></tr></table></body></html>";
  }

  // --- state <-> payload -------------------------------------------------------------------------
  let seq = 0;
  function item(obj) { obj._id = ++seq; return obj; }
  function str(v) { return v === null || v === undefined ? "" : String(v); }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }
  function list(v) { return Array.isArray(v) ? v : []; }
  function put(target, key, value) { if (value !== "" && value !== null && value !== undefined) target[key] = value; }
  const DECIMAL = /^-?\d{1,3}(\.\d+)?$/;
  function coordinate(v) { v = str(v).trim(); return DECIMAL.test(v) ? Number(v) : v; }
  function integer(v) { v = str(v).trim(); return /^\d+$/.test(v) ? parseInt(v, 10) : v; }

  function newSuggestion(s) {
    s = obj(s);
    return item({
      kind: s.kind === "action" ? "action" : "reply", text: str(s.text), action: s.action || "url", url: str(s.url),
      phone: str(s.phone), dial_type: s.dial_type || "phone", fallback_url: str(s.fallback_url),
      mode: s.mode === "query" ? "query" : "coordinates", latitude: str(s.latitude), longitude: str(s.longitude),
      query: str(s.query), label: str(s.label), title: str(s.title), description: str(s.description),
      start: str(s.start), end: str(s.end),
    });
  }
  function newCard(card) {
    card = obj(card);
    return item({
      title: str(card.title), text: str(card.text), image: { url: str(obj(card.image).url) },
      layout: card.layout || "vertical", height: card.height || "medium",
      suggestions: list(card.suggestions).map(newSuggestion),
    });
  }
  function newLink(l) {
    l = obj(l);
    return item({ network: l.network || "facebook", url: str(l.url), label: str(l.label) });
  }
  function newBlock(b) {
    b = obj(b);
    const type = b.type || "text";
    const block = item({
      type, text: str(b.text), style: b.style || "paragraph",
      align: b.align || (type === "button" || type === "social" ? "center" : "left"),
      url: str(b.url), alt: str(b.alt), link: str(b.link), width: str(b.width),
      color: typeof b.color === "string" && HEX.test(b.color) ? b.color : BUTTON_COLOR,
      height: str(b.height === undefined || b.height === null ? 24 : b.height),
    });
    if (type === "social") {
      block.links = list(b.links).map(newLink);
      if (!block.links.length && !("links" in b)) block.links.push(newLink());
    } else if (type === "columns") {
      block.columns = list(b.columns).map((column) => list(column).map(newBlock));
      if (!("columns" in b)) block.columns = [[], []];
      else if (typeof b.columns === "number") block.columns = Array.from({ length: b.columns }, () => []);
    } else if (type === "wrapper") {
      block.blocks = list(b.blocks).map(newBlock);
      block.background = longHex(b.background, WRAPPER_BACKGROUND);
      block.padding = str(b.padding === undefined || b.padding === null ? WRAPPER_PADDING : b.padding);
    }
    return block;
  }
  // the number of blocks an e-mail counts (those inside columns and wrappers too)
  function countBlocks(blocks) {
    return blocks.reduce((n, b) => n + 1 + (b.type === "columns" ? b.columns.reduce((m, c) => m + c.length, 0)
      : b.type === "wrapper" ? b.blocks.length : 0), 0);
  }

  function normalize(kind, content) {
    const p = obj(content);
    switch (kind) {
      case "rcs": {
        const cards = list(p.cards).map(newCard);
        while (cards.length < 2) cards.push(newCard());
        return {
          type: p.type || "text", text: str(p.text), file: { url: str(obj(p.file).url), name: str(obj(p.file).name) },
          card: newCard(p.card), cards, suggestions: list(p.suggestions).map(newSuggestion),
        };
      }
      case "viber": {
        const file = obj(p.file);
        return {
          type: p.type || "text", text: str(p.text), file: { url: str(file.url), name: str(file.name), size: file.size ?? null },
          image: { url: str(obj(p.image).url) }, button: { text: str(obj(p.button).text), url: str(obj(p.button).url) },
        };
      }
      case "whatsapp": {
        const t = obj(p.template);
        const lang = t.language && typeof t.language === "object" ? t.language.code : t.language;
        const sections = list(p.sections).map((s) => item({
          title: str(obj(s).title),
          options: list(obj(s).options).map((o) => item({ title: str(obj(o).title), description: str(obj(o).description) })),
        }));
        if (!sections.length) sections.push(item({ title: "", options: [item({ title: "", description: "" })] }));
        return {
          // a new WhatsApp step starts as a template: most conversations must start with one
          type: p.type || ("template" in p || !Object.keys(p).length ? "template" : "text"),
          template: {
            name: str(t.name), language: str(lang || "en"), params: list(t.params).map((v) => item({ value: str(v) })),
            extra: { namespace: t.namespace, components: t.components },
          },
          text: str(p.text), preview_url: p.preview_url === true, header: str(p.header), footer: str(p.footer),
          media: { url: str(obj(p.media).url), name: str(obj(p.media).name) },
          buttons: list(p.buttons).map((b) => item({ text: str(obj(b).text) })), button: str(p.button), sections,
          file: { url: str(obj(p.file).url), name: str(obj(p.file).name) }, caption: str(p.caption),
          latitude: str(p.latitude), longitude: str(p.longitude), name: str(p.name), address: str(p.address),
        };
      }
      case "email": {
        const blocks = list(p.blocks).map(newBlock);
        return {
          subject: str(p.subject), subtitle: str(p.subtitle), blocks,
          rawHtml: blocks.length ? "" : str(p.html), rawText: blocks.length ? "" : str(p.text),
        };
      }
      case "push":
        return { title: str(p.title), text: str(p.text), image: { url: str(obj(p.image).url) } };
      case "mobile_push":
        return { title: str(p.title), text: str(p.text) };
      case "tts":
        return { text: str(p.text), language: p.language || "en", repetitions: Number(p.repetitions) || 1 };
      default: // sms, wechat, telegram
        return { text: str(p.text) };
    }
  }

  function outSuggestion(s) {
    const o = { kind: s.kind, text: s.text };
    if (s.kind !== "action") return o;
    o.action = s.action;
    if (s.action === "url") o.url = s.url;
    else if (s.action === "dial") { o.dial_type = s.dial_type; o.phone = s.phone; put(o, "fallback_url", s.fallback_url); }
    else if (s.action === "map") {
      o.mode = s.mode;
      if (s.mode === "query") o.query = s.query;
      else { o.latitude = coordinate(s.latitude); o.longitude = coordinate(s.longitude); }
      put(o, "label", s.label);
      put(o, "fallback_url", s.fallback_url);
    } else if (s.action === "calendar") {
      o.title = s.title; o.start = s.start; o.end = s.end;
      put(o, "description", s.description);
      put(o, "fallback_url", s.fallback_url);
    }
    return o;
  }
  function outCard(card, inCarousel) {
    const o = {};
    put(o, "title", card.title);
    put(o, "text", card.text);
    if (card.image.url) o.image = { url: card.image.url };
    if (!inCarousel) o.layout = card.layout;
    o.height = card.height;
    if (card.suggestions.length) o.suggestions = card.suggestions.map(outSuggestion);
    return o;
  }
  function outBlock(b) {
    const o = { type: b.type };
    if (b.type === "text") { o.text = b.text; o.style = b.style; o.align = b.align; }
    else if (b.type === "image") { o.url = b.url; put(o, "alt", b.alt); put(o, "link", b.link); put(o, "width", integer(b.width)); }
    else if (b.type === "button") { o.text = b.text; o.url = b.url; o.color = b.color; o.align = b.align; }
    else if (b.type === "spacer") o.height = integer(b.height) === "" ? 24 : integer(b.height);
    else if (b.type === "social") {
      o.align = b.align;
      o.links = b.links.map((l) => { const x = { network: l.network, url: l.url }; put(x, "label", l.label); return x; });
    } else if (b.type === "columns") o.columns = b.columns.map((column) => column.map(outBlock));
    else if (b.type === "wrapper") {
      o.background = b.background;
      o.padding = integer(b.padding) === "" ? WRAPPER_PADDING : integer(b.padding);
      o.blocks = b.blocks.map(outBlock);
    }
    return o;
  }

  function output(kind, c) {
    switch (kind) {
      case "rcs": {
        const o = { type: c.type };
        if (c.type === "text") o.text = c.text;
        else if (c.type === "file") { o.file = { url: c.file.url }; put(o.file, "name", c.file.name); }
        else if (c.type === "card") o.card = outCard(c.card, false);
        else if (c.type === "carousel") o.cards = c.cards.map((card) => outCard(card, true));
        if (c.suggestions.length) o.suggestions = c.suggestions.map(outSuggestion);
        return o;
      }
      case "viber": {
        const o = { type: c.type };
        if (c.type === "file") {
          o.file = { url: c.file.url };
          put(o.file, "name", c.file.name);
          put(o.file, "size", c.file.size);
          return o;
        }
        o.text = c.text;
        if (c.type === "text_media_button") o.image = { url: c.image.url };
        if (c.type !== "text") o.button = { text: c.button.text, url: c.button.url };
        return o;
      }
      case "whatsapp": {
        const o = { type: c.type };
        if (c.type === "template") {
          o.template = { name: c.template.name, language: c.template.language,
            params: c.template.params.map((p) => p.value) };
          put(o.template, "namespace", c.template.extra.namespace);
          put(o.template, "components", c.template.extra.components);
        } else if (c.type === "text") {
          o.text = c.text;
          if (c.preview_url) o.preview_url = true;
        } else if (c.type === "card") {
          put(o, "header", c.header); o.text = c.text; put(o, "footer", c.footer);
          if (c.media.url) { o.media = { url: c.media.url }; put(o.media, "name", c.media.name); }
          if (c.buttons.length) o.buttons = c.buttons.map((b) => ({ text: b.text }));
        } else if (c.type === "list") {
          put(o, "header", c.header); o.text = c.text; put(o, "footer", c.footer); o.button = c.button;
          o.sections = c.sections.map((s) => {
            const section = {};
            put(section, "title", s.title);
            section.options = s.options.map((opt) => { const x = { title: opt.title }; put(x, "description", opt.description); return x; });
            return section;
          });
        } else if (c.type === "file") {
          o.file = { url: c.file.url }; put(o.file, "name", c.file.name); put(o, "caption", c.caption);
        } else if (c.type === "location_request") o.text = c.text;
        else if (c.type === "location") {
          o.latitude = coordinate(c.latitude); o.longitude = coordinate(c.longitude);
          put(o, "name", c.name); put(o, "address", c.address);
        }
        return o;
      }
      case "email": {
        const o = { subject: c.subject };
        put(o, "subtitle", c.subtitle);
        o.blocks = c.blocks.map(outBlock);
        if (!c.blocks.length) { put(o, "html", c.rawHtml); put(o, "text", c.rawText); }
        return o;
      }
      case "push": {
        const o = {};
        put(o, "title", c.title); put(o, "text", c.text);
        if (c.image.url) o.image = { url: c.image.url };
        return o;
      }
      case "mobile_push": return { title: c.title, text: c.text };
      case "tts": return { text: c.text, language: c.language, repetitions: Number(c.repetitions) || 1 };
      default: return { text: c.text };
    }
  }

  // --- the component -----------------------------------------------------------------------------
  function csrfToken() {
    const input = document.querySelector("[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  const ICONS = { url: "🔗 ", dial: "📞 ", map: "📍 ", location_request: "📍 ", calendar: "📅 " };
  let editors = 0;

  function component() {
    let root = null;
    let lastField = null;
    let pickerTarget = null;
    let drag = null; // what is being dragged: {list, index, type}; list null for a new block
    let emailLabels = {};
    return {
      cfg: { urls: {}, limits: {}, i18n: {}, attributes: [] }, kind: "sms", c: { text: "" }, errors: {}, uid: "",
      emptyJson: "",
      attrOpen: false, attrSearch: "",
      picker: { open: false, type: "", query: "", items: [], loading: false, error: "" },
      tpl: { list: null, selected: "", saveOpen: false, name: "", saving: false, message: "", error: "" },

      init() {
        root = this.$el;
        const data = root.querySelector(':scope > script[type="application/json"]');
        this.cfg = JSON.parse(data ? data.textContent : "{}");
        this.kind = this.cfg.key;
        this.uid = "ctor" + (++editors);
        this.errors = Object.assign({}, this.cfg.errors || {});
        this.c = normalize(this.kind, this.cfg.content);
        const labels = root.querySelector("script[data-email-labels]");
        if (labels) emailLabels = JSON.parse(labels.textContent);
        this.emptyJson = JSON.stringify(output(this.kind, normalize(this.kind, {})));
      },
      get L() { return this.cfg.limits; },

      // payload
      output() { return output(this.kind, this.c); },
      json() { return JSON.stringify(this.output()); },
      isEmpty() { return this.json() === this.emptyJson; },

      // fields
      fid(path) { return this.uid + "-" + path; },
      err(path) { return this.errors[path] || ""; },
      len(value) { return Array.from(value == null ? "" : String(value)).length; },
      touched(event) {
        const path = event.target && event.target.dataset ? event.target.dataset.path : "";
        if (path && this.errors[path]) {
          const copy = Object.assign({}, this.errors);
          delete copy[path];
          this.errors = copy;
        }
      },
      focused(event) { if (event.target.matches && event.target.matches("[data-personalize]")) lastField = event.target; },
      item(fields) { return item(fields); },

      // SMS
      sms() { return analyze(this.c.text); },

      // personalisation
      token(key) { return "{{attribute." + key + "}}"; },
      attributes() {
        const q = this.attrSearch.trim().toLowerCase();
        return this.cfg.attributes.filter((a) => !q || a.name.toLowerCase().includes(q) || a.key.toLowerCase().includes(q));
      },
      insertAttribute(key) {
        let el = lastField;
        if (!el || !el.isConnected || !root.contains(el)) el = root.querySelector("[data-personalize]");
        if (!el) return;
        const text = this.token(key);
        const start = el.selectionStart ?? el.value.length;
        const end = el.selectionEnd ?? start;
        el.setRangeText(text, start, end, "end");
        el.dispatchEvent(new Event("input", { bubbles: true }));
        el.focus();
        this.attrOpen = false;
        this.attrSearch = "";
      },

      // RCS
      cardList() { return this.c.type === "carousel" ? this.c.cards : [this.c.card]; },
      cardPath(index) { return this.c.type === "carousel" ? "cards[" + index + "]" : "card"; },
      newCard() { return newCard(); },
      newSuggestion() { return newSuggestion(); },
      suggestionLabel(s) { return (s.kind === "action" ? (ICONS[s.action] || "") : "") + (s.text || "…"); },
      fileName(url) { return decodeURIComponent(String(url || "").split(/[?#]/)[0].split("/").pop() || ""); },

      // WhatsApp
      optionCount() { return this.c.sections.reduce((n, s) => n + s.options.length, 0); },

      // e-mail
      previewSize: "regular", previewBox: 0, dropAt: null, dragging: false, emailView: "blocks",
      blockLabel(type) { return emailLabels[type] || (this.cfg.i18n.blocks || {})[type] || type; },
      blockCount() { return countBlocks(this.c.blocks); },
      canAdd() { return this.blockCount() < this.L.blocks; },
      addBlock(type, target, init) {
        if (!type || !this.canAdd()) return;
        (target || this.c.blocks).push(newBlock(Object.assign({ type }, init)));
      },
      moveBlock(index, step) { this.moveIn(this.c.blocks, index, step); },
      moveIn(target, index, step) {
        const to = index + step;
        if (to < 0 || to >= target.length) return;
        const [moved] = target.splice(index, 1);
        target.splice(to, 0, moved);
      },
      setColumns(b, n) {
        n = Number(n);
        while (b.columns.length < n) b.columns.push([]);
        while (b.columns.length > n) { const gone = b.columns.pop(); b.columns[b.columns.length - 1].push(...gone); }
      },
      addLink(b) { if (b.links.length < this.L.social_links) b.links.push(newLink({ network: "facebook" })); },
      // drag and drop: a block's handle (or an "Add block" button) onto a place in a list
      dragStart(event, target, index) {
        const b = target[index];
        drag = { list: target, index, type: b.type };
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", b.type);
        const el = event.target.closest(".ctor-block, .ctor-layer");
        if (el && event.dataTransfer.setDragImage) event.dataTransfer.setDragImage(el, 12, 12);
        this.dragging = true;
      },
      dragNew(event, type, init) {
        drag = { list: null, index: -1, type, init };
        event.dataTransfer.effectAllowed = "copy";
        event.dataTransfer.setData("text/plain", type);
        this.dragging = true;
      },
      dragOver(event, target, index) {
        // columns and wrappers go only into the body itself: elsewhere the event goes on to the
        // block around (the body's own place for it)
        if (!drag || (target !== this.c.blocks && CONTAINER_TYPES.includes(drag.type))) return;
        if (!drag.list && !this.canAdd()) return;
        event.preventDefault();
        event.stopPropagation();
        let at = index;
        if (index < target.length) {
          const box = event.currentTarget.getBoundingClientRect();
          if (event.clientY > box.top + box.height / 2) at = index + 1;
        }
        event.dataTransfer.dropEffect = drag.list ? "move" : "copy";
        if (!this.dropAt || this.dropAt.list !== target || this.dropAt.index !== at) this.dropAt = { list: target, index: at };
      },
      dropHere(event) {
        if (!drag || !this.dropAt) return;
        event.preventDefault();
        event.stopPropagation();
        const target = this.dropAt.list;
        let at = this.dropAt.index;
        if (drag.list) {
          const [moved] = drag.list.splice(drag.index, 1);
          if (drag.list === target && drag.index < at) at -= 1;
          target.splice(at, 0, moved);
        } else if (this.canAdd()) target.splice(at, 0, newBlock(Object.assign({ type: drag.type }, drag.init)));
        this.dragEnd();
      },
      dragEnd() { drag = null; this.dropAt = null; this.dragging = false; },
      dropMark(target, index) {
        const d = this.dropAt;
        if (!d || d.list !== target) return "";
        return d.index === index ? "drop-before" : (d.index === index + 1 && index === target.length - 1 ? "drop-after" : "");
      },
      isDragged(target, index) { return this.dragging && !!drag && drag.list === target && drag.index === index; },
      // the Layers view: the outline of the blocks; a click shows the block's properties
      blockSummary(b) {
        let text = "";
        if (b.type === "text" || b.type === "button") text = b.text;
        else if (b.type === "image") text = b.alt || str(b.url).split(/[?#]/)[0].split("/").pop();
        else if (b.type === "social") text = b.links.map((l) => l.label || (NETWORKS[l.network] || [l.network])[0]).join(", ");
        else if (b.type === "spacer") text = str(b.height) + " px";
        else if (b.type === "wrapper") text = b.background;
        text = str(text).replace(/\s+/g, " ").trim();
        return text.length > 48 ? text.slice(0, 47) + "…" : text;
      },
      hasErrorsUnder(path) {
        return Object.keys(this.errors).some((k) => k === path || k.startsWith(path + ".") || k.startsWith(path + "["));
      },
      showBlock(path) {
        this.emailView = "blocks";
        this.$nextTick(() => {
          const el = root.querySelector('[data-block-path="' + path + '"]');
          if (!el) return;
          el.scrollIntoView({ block: "nearest" });
          const field = el.querySelector("input:not([type=hidden]), textarea, select");
          if (field) field.focus({ preventScroll: true });
        });
      },
      // the preview: regular (600 px), wide (800 px) or smartphone (375 px) screens, scaled to fit
      previewWidth() { return PREVIEW_WIDTHS[this.previewSize] || 600; },
      previewScale() { return this.previewBox ? Math.min(1, this.previewBox / this.previewWidth()) : 1; },
      frameStyle() {
        const scale = this.previewScale();
        return "width:" + this.previewWidth() + "px;height:" + Math.round(PREVIEW_HEIGHT / scale) + "px;" +
          "transform:scale(" + scale.toFixed(4) + ");";
      },
      watchPreview(el) {
        this.previewBox = el.clientWidth;
        if (window.ResizeObserver) new ResizeObserver(() => { this.previewBox = el.clientWidth; }).observe(el);
      },
      emailPreview() {
        const o = this.output();
        return this.c.blocks.length ? emailHtml(o.blocks, o.subtitle || "") : (this.c.rawHtml || "");
      },

      // TTS
      repetitionsLabel() { return (this.cfg.i18n.repetitions || [])[(Number(this.c.repetitions) || 1) - 1] || ""; },

      // media
      openPicker(type, target) {
        pickerTarget = target;
        this.picker = { open: true, type: type || "", query: "", items: [], loading: false, error: "" };
        this.loadMedia();
      },
      async loadMedia() {
        if (!this.cfg.urls.picker) return;
        this.picker.loading = true;
        this.picker.error = "";
        const params = new URLSearchParams();
        if (this.picker.type) params.set("type", this.picker.type);
        if (this.picker.query.trim()) params.set("q", this.picker.query.trim());
        try {
          const resp = await fetch(this.cfg.urls.picker + "?" + params.toString(), { headers: { Accept: "application/json" } });
          const data = await resp.json();
          if (!resp.ok) throw new Error(data.error || resp.statusText);
          this.picker.items = data.results || [];
        } catch (e) {
          this.picker.error = String(e.message || e);
        } finally {
          this.picker.loading = false;
        }
      },
      async upload(event) {
        const file = event.target.files && event.target.files[0];
        if (!file || !this.cfg.urls.upload) return;
        const form = new FormData();
        form.append("files", file);
        this.picker.loading = true;
        this.picker.error = "";
        try {
          const resp = await fetch(this.cfg.urls.upload, { method: "POST", body: form,
            headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
          const data = await resp.json();
          if (data.results && data.results.length) { this.choose(data.results[0]); return; }
          this.picker.error = (data.errors && data.errors[0] && data.errors[0].error) || data.error || this.cfg.i18n.uploadFailed;
        } catch (e) {
          this.picker.error = this.cfg.i18n.uploadFailed;
        } finally {
          this.picker.loading = false;
          event.target.value = "";
        }
      },
      choose(media) {
        if (pickerTarget) pickerTarget(media);
        this.picker.open = false;
      },

      // content templates
      async loadTemplates() {
        if (this.tpl.list !== null || !this.cfg.urls.templates) return;
        this.tpl.list = [];
        try {
          const resp = await fetch(this.cfg.urls.templates, { headers: { Accept: "application/json" } });
          if (!resp.ok) throw new Error(resp.statusText);
          this.tpl.list = (await resp.json()).results || [];
        } catch (e) {
          this.tpl.list = null;
          this.tpl.message = this.cfg.i18n.loadFailed;
        }
      },
      applyTemplate() {
        const chosen = (this.tpl.list || []).find((t) => String(t.id) === this.tpl.selected);
        if (!chosen) return;
        if (!this.isEmpty() && !window.confirm(this.cfg.i18n.replaceContent)) { this.tpl.selected = ""; return; }
        this.c = normalize(this.kind, chosen.content);
        this.errors = {};
      },
      async saveTemplate() {
        const name = this.tpl.name.trim();
        if (!name) { this.tpl.error = this.cfg.i18n.nameRequired; return; }
        this.tpl.saving = true;
        this.tpl.error = "";
        const form = new FormData();
        form.append("name", name);
        form.append("channel", String(this.cfg.channel));
        form.append("content", this.json());
        try {
          const resp = await fetch(this.cfg.urls.save, { method: "POST", body: form,
            headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
          const data = await resp.json();
          if (resp.status === 201) {
            this.tpl.saveOpen = false;
            this.tpl.name = "";
            this.tpl.message = this.cfg.i18n.saved.replace("%(name)s", data.name);
            this.tpl.list = null; // read again on the next open
            return;
          }
          const errors = data.errors || {};
          const content = {};
          Object.keys(errors).forEach((key) => {
            if (key === "content") content[""] = errors[key];
            else if (key.startsWith("content.")) content[key.slice(8)] = errors[key];
          });
          this.errors = content;
          this.tpl.error = errors.name || errors.channel || (Object.keys(content).length ? this.cfg.i18n.saveFailed : "");
        } catch (e) {
          this.tpl.error = this.cfg.i18n.saveFailed;
        } finally {
          this.tpl.saving = false;
        }
      },
    };
  }

  function register() { window.Alpine.data("heraldConstructor", component); }
  if (window.Alpine) register(); else document.addEventListener("alpine:init", register);
  window.HeraldConstructor = { analyze, emailHtml, normalize, output };
})();
