-- Pandoc Lua filter of the pandoc renderer: what Quarto does that plain pandoc does not.
--  * refuses remote resources before pandoc would try to download them (the report opens offline);
--  * fig-alt becomes the image's alt text (HTML, Word, and the tagged PDF);
--  * in HTML, the content is the page's <main> landmark (accessibility: axe-core's rules);
--  * callouts (::: {.callout-warning} ...) get Quarto's title ("Warning" unless title="...")
--    and, in Typst, a coloured box; in Word, a table of the title and the text (as Quarto's).

local typst = FORMAT:match("typst") ~= nil
local docx = FORMAT:match("docx") ~= nil

local resource_tags = {
  img = 1, script = 1, link = 1, iframe = 1, source = 1, video = 1, audio = 1, embed = 1}

local function remote_urls(blocks)
  local urls = pandoc.List{}
  local function add(url)
    if url:match("^https?://") or url:match("^//") then urls:insert(url) end
  end
  local function raw(r)
    if not r.format:match("html") then return end
    for tag, attrs in r.text:gmatch("<(%a+)(%s[^>]*)>") do
      if resource_tags[tag:lower()] then
        for _, name in ipairs({"src", "href"}) do
          for url in attrs:gmatch("%s" .. name .. "%s*=%s*[\"']?([^\"'%s>]+)") do add(url) end
        end
      end
    end
  end
  blocks:walk({Image = function(img) add(img.src) end, RawInline = raw, RawBlock = raw})
  return urls
end

local function typst_string(text)
  return '"' .. text:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

-- fig-alt is the image's text alternative in every format: the alt attribute in HTML, the
-- picture's description in Word, and in Typst (whose pandoc writer drops alt text) the
-- image's alt, which the tagged PDF carries (as Quarto's Typst output does).
local function alt_text(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    img.attributes["alt"] = alt
    img.caption = pandoc.Inlines(alt)
  end
  if typst and img.attributes["alt"] then
    return pandoc.RawInline("typst", "#box(image(" .. typst_string(img.src) .. ", alt: "
      .. typst_string(img.attributes["alt"]) .. "))")
  end
  return img
end

local box = {
  warning = 'fill: rgb("#fff6e8"), stroke: (left: 4pt + rgb("#d9822b"), rest: 0.5pt + rgb("#e0a84f"))',
  note = 'fill: rgb("#eef6fd"), stroke: (left: 4pt + rgb("#2f7ec1"), rest: 0.5pt + rgb("#9cc3e6"))',
}
box.important, box.caution, box.tip = box.warning, box.warning, box.note

local function callout(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind and box[kind] then
      local title = div.attributes["title"] or (kind:sub(1, 1):upper() .. kind:sub(2))
      div.attributes["title"] = nil
      local heading = pandoc.Div(pandoc.Plain(pandoc.Strong(title)), {class = "callout-title"})
      if docx then   -- as Quarto's Word callout: a one-column table, title row above the text
        local rows = {{{pandoc.Plain(pandoc.Strong(title))}}, {div.content}}
        return pandoc.utils.from_simple_table(
          pandoc.SimpleTable({}, {pandoc.AlignDefault}, {0}, {}, rows))
      end
      div.content:insert(1, heading)
      if not typst then
        div.classes:insert("callout")
        return div
      end
      local out = pandoc.Blocks{pandoc.RawBlock("typst",
        "#block(width: 100%, inset: 8pt, radius: 2pt, breakable: false, " .. box[kind] .. ")[")}
      out:extend(div.content)
      out:insert(pandoc.RawBlock("typst", "]"))
      return out
    end
  end
end

-- Tracked changes (changes.html): an insertion or deletion span is an <ins> or <del>.
local function tracked(span)
  for _, kind in ipairs({"insertion", "deletion"}) do
    if span.classes:includes(kind) and FORMAT:match("html") then
      local tag = kind == "insertion" and "ins" or "del"
      local out = pandoc.Inlines{pandoc.RawInline("html", "<" .. tag .. ">")}
      out:extend(span.content)
      out:insert(pandoc.RawInline("html", "</" .. tag .. ">"))
      return out
    end
  end
end

function Pandoc(doc)
  local remote = remote_urls(doc.blocks)
  if #remote > 0 then error("remote resources: " .. table.concat(remote, ", "), 0) end
  doc.blocks = doc.blocks:walk({Image = alt_text, Div = callout, Span = tracked})
  if FORMAT:match("html") then   -- the page's content is its main landmark (title, contents:
    doc.blocks:insert(1, pandoc.RawBlock("html", "<main>"))   -- banner and navigation)
    doc.blocks:insert(pandoc.RawBlock("html", "</main>"))
  end
  return doc
end
